"""Person names: "meu nome é ana souza" -> "Ana Souza"."""
from __future__ import annotations

import re

from ..language import STOPWORDS
from ..textnorm import EMAIL_PATTERN, NON_ANSWERS, URL_PATTERN, fold, simplify
from .consent import parse as parse_consent
from .result import REJECTED, ParseResult, accepted

MAX_WORDS = 5
MAX_WORD_CHARS = 30
# A name fits well within this many characters after its marker; looking no further keeps
# messages with hundreds of markers linear.
WINDOW_CHARS = 200

# Greetings and acknowledgements a name may follow ("ok, it's Mary", "beleza, é Rui").
_GREETING = (r"(?:oi|ola|opa|hi|hello|hey|bom dia|boa tarde|boa noite|good morning|good afternoon|good evening"
             r"|ok|okay|sure|fine|alright|all right|yes|sim|claro|beleza|ta|certo|tudo bem|pois nao)")
# Markers that only introduce a name: the name may be typed in lower case.
_STRONG = (
    r"(?:meu nome (?:e|eh)|eu me chamo|me chamo|pode me chamar de|podem me chamar de|my name is|my name's|call me"
    r"|nome:|name:)"
)
# Markers that also introduce other things ("sou gerente", "I'm interested"): outside the name
# question they only count when a capitalised word follows.
_WEAK = (
    r"(?:aqui quem fala (?:e|eh)|quem fala (?:e|eh)|aqui (?:e|eh) (?:o|a)|eu sou (?:o|a)|eu sou|sou (?:o|a)|sou"
    r"|i['’]?m|i am|this is|here is)"
)
_DIRECT_ONLY = r"(?:it['’]?s|its|aqui (?:e|eh)|e|eh)"

_LEAD_IN = re.compile(rf"^(?:{_GREETING}(?:[\s,!.]+|$))?(?:(?:{_STRONG}|{_WEAK}|{_DIRECT_ONLY})\s+)?")
_MARKER = re.compile(rf"(?:^|(?<=[\s,.!;]))(?:(?P<strong>{_STRONG})|(?P<weak>{_WEAK}))\s+")
_CLAUSE_END = re.compile(r"[,;!?\n:()]|\.(?:\s|$)|\s[-–—]\s")
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:['’-][^\W\d_]+)*$")

# Surname particles: part of the name when another name word follows.
PARTICLES = frozenset({"de", "dos", "das", "di", "del", "della", "van", "von", "der", "den", "du", "le", "la"})
_DA_DO = frozenset({"da", "do"})
# "da"/"do" also mean "from" ("Ana da Acme"): a name particle only before these common surnames.
SURNAMES_AFTER_DA_DO = frozenset(
    """
    silva costa cruz rocha luz mata matta fonseca cunha conceicao paz mota motta silveira gama hora veiga rosa
    nobrega fonte penha gloria graca nascimento carmo amaral prado vale rosario espirito ceu monte campo couto
    lago rio sacramento patrocinio assuncao anunciacao piedade guia
    """.split()
)
# Words that follow "sou"/"I'm" or answer the question without being a name.
NOT_NAMES = frozenset(
    """
    ceo cto cfo coo cmo dono dona socio socia diretor diretora gerente analista responsavel cliente novo nova
    interessado interessada interested looking calling writing here fine sorry glad happy new owner founder
    manager director analyst anonimo anonymous ninguem nobody ai eai blz beleza
    """.split()
) | frozenset().union(*STOPWORDS.values()) - PARTICLES - _DA_DO
_CONNECTORS = frozenset({"e", "and", "from", "at", "of", "aqui", "here", "meu", "minha", "my", "trabalho", "work"})


def parse(text: str, language: str) -> ParseResult:
    """A name given as the answer to "what's your name?"."""
    # A bare yes or no ("Simmm", "yep", a caller's "sim") answers an earlier question, never this one.
    if len(text.split()) == 1 and parse_consent(text, language).ok:
        return REJECTED
    folded = fold(text.strip())
    start = _LEAD_IN.match(folded)
    direct = _name_at(text.strip(), start.end() if start else 0, require_capital=False)
    # "Sorry, I don't speak Portuguese. My name is Mark" introduces the name mid-message.
    return direct if direct.ok else find(text, language)


def find(text: str, language: str) -> ParseResult:
    """A name clearly introduced inside a longer message ("sou a Ana da Acme")."""
    for marker in _MARKER.finditer(fold(text)):
        result = _name_at(text, marker.end(), require_capital=marker.group("weak") is not None)
        if result.ok:
            return result
    return REJECTED


def _name_at(text: str, start: int, require_capital: bool) -> ParseResult:
    """The name that starts at `start` and runs to the end of its clause."""
    rest = URL_PATTERN.sub(",", EMAIL_PATTERN.sub(",", text[start : start + WINDOW_CHARS]))
    clause = _CLAUSE_END.split(rest, maxsplit=1)[0]
    # Emoji and other symbol-only tokens are decoration, not part of the name.
    tokens = [token for token in clause.split() if any(char.isalnum() for char in token)]
    if not tokens or (require_capital and not tokens[0][0].isupper()):
        return REJECTED
    name = _name_tokens(tokens)
    if not name or len(name) > MAX_WORDS or simplify(" ".join(name)) in NON_ANSWERS:
        return REJECTED
    if max(len(word) for word in name) < 2:
        return REJECTED
    return accepted(" ".join(_title(word, first=index == 0) for index, word in enumerate(name)))


def _name_tokens(tokens: list[str]) -> list[str]:
    """The leading name words; empty when a non-name word appears before the name ends."""
    name: list[str] = []
    for index, token in enumerate(tokens):
        folded = fold(token)
        following = fold(tokens[index + 1]) if index + 1 < len(tokens) else ""
        if name and folded in _CONNECTORS:
            break
        if name and folded in _DA_DO and following not in SURNAMES_AFTER_DA_DO:
            break  # "Ana da Acme": the rest names the company
        is_particle = folded in PARTICLES | _DA_DO
        if is_particle and name and following and _NAME_WORD.match(tokens[index + 1]):
            name.append(token)
            continue
        if not _NAME_WORD.match(token) or len(token) > MAX_WORD_CHARS or folded in NOT_NAMES or is_particle:
            return []
        name.append(token)
    return name


def _title(word: str, first: bool) -> str:
    """Title-case a word typed all lower or all upper case; keep deliberate casing ("McDonald")."""
    if not first and fold(word) in PARTICLES | _DA_DO:
        return word.lower()
    if not (word.islower() or word.isupper()):
        return word
    return re.sub(r"[^\W\d_]+", lambda part: part.group(0).capitalize(), word.lower())
