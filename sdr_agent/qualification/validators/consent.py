"""Yes/no answers to the consent question; the value is True or False."""
from __future__ import annotations

import re

from ..textnorm import simplify
from .result import REJECTED, ParseResult, accepted

# Checked first: these open with "não"/"no" but mean yes.
_YES_DESPITE_NO = re.compile(
    r"^(?:nao (?:tem|ha) problema|sem problemas?|no problem|no worries|why not|por que nao|porque nao)\b"
)
_YES = re.compile(
    r"^(?:sim|s|pode|podemos|claro|ok|okay|okey|blz|beleza|bora|vamos|vamo|manda|manda ver|com certeza|certo|"
    r"positivo|isso|uhum|aham|yes|y|yeah|yep|yup|sure|go ahead|of course|absolutely|alright|all right|fine|"
    r"let s go|lets go|ok pode|pode sim|pode perguntar|pode mandar|tudo bem|ta bom|ta|perfeito|otimo|great|"
    r"please do|go for it|i do|si)\b"
)
_NO = re.compile(
    r"^(?:nao|n|nope|no|not now|nah|agora nao|nao quero|nao obrigad[oa]|no thanks|no thank you|nunca|never|"
    r"negativo|dispenso|melhor nao|i d rather not|rather not|not interested)\b"
)
# "simmm", "siiim", "yess", "ss": chat spellings, read with repeated letters squeezed.
_REPEATS = re.compile(r"([a-z])\1+")
_YES_SYMBOLS = ("👍", "✅", "👌", "🙌", "✔")
_NO_SYMBOLS = ("👎", "❌", "🚫", "✖")


def parse(text: str, language: str) -> ParseResult:
    """True for yes, False for no; rejected when the message is neither."""
    simple = simplify(text)
    if not (_YES_DESPITE_NO.match(simple) or _NO.match(simple) or _YES.match(simple)):
        simple = _REPEATS.sub(r"\1", simple)
    if _YES_DESPITE_NO.match(simple):
        return accepted(True)
    if _NO.match(simple):
        return accepted(False)
    if _YES.match(simple):
        return accepted(True)
    if not simple:
        if any(symbol in text for symbol in _NO_SYMBOLS):
            return accepted(False)
        if any(symbol in text for symbol in _YES_SYMBOLS):
            return accepted(True)
    return REJECTED
