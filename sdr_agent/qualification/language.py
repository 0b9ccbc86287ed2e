"""Decide when a lead has clearly switched language: explicit requests or a clear stopword majority."""
from __future__ import annotations

import re
from typing import Sequence

from .textnorm import simplify, words

# Frequent words of each language, folded. Words both languages share ("a", "no", "do", "me",
# "so", "ok") are left out on purpose: they must never tip the balance.
STOPWORDS: dict[str, frozenset[str]] = {
    "pt": frozenset(
        """
        que nao sim voce voces eu meu minha meus minhas nos nosso nossa nossos para pra com uma um de da das dos
        em na nas e o os esta estou estamos sou somos tenho temos tem quero queria gostaria saber mais sobre
        obrigado obrigada oi ola bom boa dia tarde noite tudo bem como isso essa esse este aqui agora ainda
        tambem muito pelo pela por favor empresa trabalho produto preco quanto custa qual quando onde porque
        entao mas ja vou vamos pode posso ter ser fazer ajuda mes ano ate nome chamo seu sua ele ela foi faz sao
        preciso precisamos entender conhecer servico solucao equipe vendas orcamento reais semana proximo
        """.split()
    ),
    "en": frozenset(
        """
        the i you we my our your is are am was be have has would like want know more about and or of to in for
        with on at it this that what how when where why hello hi hey thanks thank please yes not don't dont can
        could good morning afternoon evening there here just need looking interested company product price much
        does get from an some work month year name speak english sure which who also very really great team
        sales service solution us i'm it's we're i'd what's budget week next
        """.split()
    ),
}

LANGUAGE_NAMES = {"english": "en", "ingles": "en", "portuguese": "pt", "portugues": "pt"}

# The whole message must be a language request ("English please", "em português?"), so that
# "sou professor de inglês" never switches.
_REQUEST = re.compile(
    r"^(?:(?:in|em|speak|falar|fala|falo|can we|can you|could we|could you|do you|pode|podemos|prefiro|i prefer|prefer"
    r"|please|por favor|ser|pode ser|vc|voce|voces|let s|lets|talk|write|reply|continue|continuar|continua|seguir"
    r"|segue|escreve|escrever|responde|responder|the rest|o resto|mesmo|entao|so)\s+)*"
    r"(english|ingles|portuguese|portugues)(?:\s+(?:do brasil|please|pls|plz|por favor))?$"
)

MIN_WORDS_TO_SWITCH = 3


def primary(language: str) -> str:
    """The primary subtag of a language tag ("pt-BR" -> "pt")."""
    return language.split("-", 1)[0].lower()


def _flow_language(primary_tag: str, languages: Sequence[str]) -> str | None:
    return next((language for language in languages if primary(language) == primary_tag), None)


def requested_language(text: str, languages: Sequence[str]) -> str | None:
    """The flow language a message explicitly asks for, if the message is just such a request."""
    match = _REQUEST.match(simplify(text))
    return _flow_language(LANGUAGE_NAMES[match.group(1)], languages) if match else None


def first_language(text: str, languages: Sequence[str]) -> str | None:
    """A new lead's language from their first words, on any evidence ("Hi" -> en, "Oi" -> pt); None when silent on it."""
    tokens = words(text)
    hits = {tag: sum(token in vocabulary for token in tokens) for tag, vocabulary in STOPWORDS.items()}
    ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
    if ranked[0][1] == 0 or ranked[0][1] == ranked[1][1]:
        return None  # "Acme", "👍", or as much of one as of the other: the number's country decides
    return _flow_language(ranked[0][0], languages)


def detected_switch(text: str, current: str, languages: Sequence[str]) -> str | None:
    """Another flow language the message is clearly written in, or None to stay."""
    tokens = words(text)
    hits = {tag: sum(token in vocabulary for token in tokens) for tag, vocabulary in STOPWORDS.items()}
    mine = hits.get(primary(current), 0)
    best_tag, best = max(hits.items(), key=lambda item: item[1])
    # A clear majority, not a tie broken by one word: names, e-mails and numbers never count.
    if best_tag == primary(current) or best < MIN_WORDS_TO_SWITCH or best <= 2 * mine:
        return None
    return _flow_language(best_tag, languages)
