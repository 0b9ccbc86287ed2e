"""Company names: "trabalho na acme" -> "Acme"; self-employed leads are a valid answer too."""
from __future__ import annotations

import re

from ..language import STOPWORDS
from ..textnorm import EMAIL_PATTERN, NON_ANSWERS, collapse_spaces, fold, simplify
from .person_name import SURNAMES_AFTER_DA_DO, WINDOW_CHARS
from .result import REJECTED, ParseResult, accepted

MAX_CHARS = 80
MAX_WORDS = 8
MAX_FOUND_WORDS = 5

SELF_EMPLOYED = {"pt": "Autônomo", "en": "Self-employed"}
_SELF_EMPLOYED = re.compile(
    r"\b(?:autonom[oa]|freelancer|freelance|freela|self employed|selfemployed|independente|mei|pessoa fisica"
    r"|por conta propria|on my own|sole proprietor|solopreneur)\b"
)
_REFUSALS = frozenset(
    {
        "nao tenho", "nao tenho empresa", "nenhuma empresa", "sem empresa", "prefiro nao dizer", "nao posso dizer",
        "no company", "i don t have one", "i dont have one", "rather not say", "i d rather not say", "n a", "na",
    }
)
_GREETING = r"(?:oi|ola|opa|hi|hello|hey|bom dia|boa tarde|boa noite)(?:[\s,!.]+|$)"
_STRONG = (
    r"(?:eu )?(?:trabalho|atuo) (?:na empresa|na|no|em|para|pra|pela|pelo)|(?:minha|nossa|a) empresa (?:e|eh|se chama)"
    r"|(?:da|na) empresa|empresa:|company:|i work (?:at|for|with)|(?:my|our|the) company is|i'?m with"
)
_WEAK = r"(?:sou |eu sou )?(?:da|do)|(?:i'?m |i am |we'?re |we are )?(?:from|at)"
_LEAD_IN = re.compile(rf"^(?:{_GREETING})?(?:(?:{_STRONG}|{_WEAK}|we are|we'?re)\s+(?:(?:a|o|the) )?)?")
_MARKER = re.compile(rf"(?:^|(?<=[\s,.!;]))(?:(?P<strong>{_STRONG})|(?P<weak>{_WEAK}))\s+")
# Where the company name ends and the rest of the message (e-mail, role, name) begins.
_CUT = re.compile(
    r"[;!?\n]"
    r"|[,.]\s+(?=(?:e |and )?(?:meu|minha|my|e-?mail|sou|i'?m|cargo|telefone|phone|our|nosso|nossa)\b)"
    r"|\s+(?:e |and )?(?:meu|minha|my) (?:e-?mail|email|nome|name|cargo|role|telefone|phone)\b"
    r"|\s+(?:e|and) (?:sou|i'?m|i am)\b"
)
_SENTENCE_CUT = re.compile(r"[,;!?\n]|\.(?:\s|$)")
# Words a company name may contain that are also stopwords ("Banco do Brasil", "The Home Depot").
_NAME_PARTICLES = frozenset({"de", "da", "do", "dos", "das", "e", "the", "and", "of", "for", "em", "a", "o"})
_STOPWORDS = frozenset().union(*STOPWORDS.values()) - _NAME_PARTICLES
# A final dot that belongs to the name ("S.A.", "Ltda.") rather than ending the sentence.
_ABBREVIATION_END = re.compile(r"(?:\b[^\W\d_]\.){2,}$|\b(?:ltda|inc|corp|co|ltd|cia|me)\.$", re.IGNORECASE)
_NOT_COMPANIES = frozenset({"brasil", "brazil", "sao", "rio", "portugal", "usa", "eua", "home", "casa"})
# A company name does not open like a sentence ("Sou a Ana", "quero saber o preço").
_SENTENCE_OPENERS = frozenset(
    """
    sou eu i i'm im we we're my meu minha quero queria tenho temos preciso gostaria nao what why how qual quanto
    porque pra para voce voces you
    """.split()
)


def parse(text: str, language: str) -> ParseResult:
    """A company given as the answer to "where do you work?"."""
    text = EMAIL_PATTERN.sub(";", text.strip())
    if _SELF_EMPLOYED.search(simplify(text)):
        return accepted(SELF_EMPLOYED.get(language.split("-")[0].lower(), SELF_EMPLOYED["en"]))
    start = _LEAD_IN.match(fold(text))
    head = _CUT.split(text[start.end() if start else 0 :], maxsplit=1)[0]
    direct = _validated(head)
    # "Sou a Ana da Acme" is not a company name, but it names one.
    return direct if direct.ok else find(text, language)


def find(text: str, language: str) -> ParseResult:
    """A company clearly introduced inside a longer message ("trabalho na Acme", "sou a Ana da Acme")."""
    text = EMAIL_PATTERN.sub(";", text)
    for marker in _MARKER.finditer(fold(text)):
        clause = _SENTENCE_CUT.split(text[marker.end() : marker.end() + WINDOW_CHARS], maxsplit=1)[0]
        if marker.group("strong"):
            head = _CUT.split(clause, maxsplit=1)[0]
        else:
            head = _capitalised_run(clause)
            # "Ana da Silva" is a surname and "from Brazil" a place, not companies.
            if not head or fold(head.split()[0]) in SURNAMES_AFTER_DA_DO | _NOT_COMPANIES:
                continue
        if len(head.split()) <= MAX_FOUND_WORDS and (result := _validated(head)).ok:
            return result
    return REJECTED


def _capitalised_run(clause: str) -> str:
    """The leading run of capitalised words, e.g. "Acme Corp" out of "Acme Corp and I need a CRM"."""
    run: list[str] = []
    for word in clause.split():
        if fold(word) in _STOPWORDS:
            break
        if word[0].isupper() or (run and (word[0].isdigit() or word == "&" or fold(word) in _NAME_PARTICLES)):
            run.append(word)
        else:
            break
    while run and fold(run[-1]) in _NAME_PARTICLES:
        run.pop()
    return " ".join(run)


def _validated(head: str) -> ParseResult:
    """Accept a short, name-like company; reject questions, refusals and sentences."""
    name = collapse_spaces(head).strip(" ,:-–—\"'")
    if not _ABBREVIATION_END.search(name):
        name = name.rstrip(" .")
    simple = simplify(name)
    tokens = simple.split()
    if not tokens or len(name) > MAX_CHARS or len(tokens) > MAX_WORDS:
        return REJECTED
    if not any(char.isalpha() for char in name) or simple in NON_ANSWERS | _REFUSALS:
        return REJECTED
    if fold(name.split()[0]).replace("’", "'") in _SENTENCE_OPENERS:
        return REJECTED
    # Common words make a sentence, unless the lead wrote them as a name ("The Sales Company").
    if (sum(token in _STOPWORDS for token in tokens) >= 2 and not _written_as_a_name(name)) or (
            len(tokens) == 1 and tokens[0] in _STOPWORDS):
        return REJECTED
    # Domains ("acme.com.br") keep their case; other all-lower-case names are capitalised.
    return accepted(_title(name) if name.islower() and "." not in name else name)


def _written_as_a_name(name: str) -> bool:
    """Two or more words, each capitalised or a particle: how a company name, not a sentence, is written."""
    words = name.split()
    return len(words) >= 2 and all(word[:1].isupper() or fold(word) in _NAME_PARTICLES for word in words)


def _title(name: str) -> str:
    """Capitalise an all-lower-case company name, leaving particles ("padaria do joão") lower."""
    words = name.split(" ")
    return " ".join(
        word if index and fold(word) in _NAME_PARTICLES else word[:1].upper() + word[1:] for index, word in enumerate(words)
    )
