"""Free text (the lead's need): trimmed, long enough, with at least one letter."""
from __future__ import annotations

from ..textnorm import NON_ANSWERS, collapse_spaces, simplify
from .result import REJECTED, ParseResult, accepted

DEFAULT_MIN_LENGTH = 3
MAX_LENGTH = 1000


def parse(text: str, language: str, min_length: int = DEFAULT_MIN_LENGTH) -> ParseResult:
    """The text itself, if it says something."""
    value = collapse_spaces(text)[:MAX_LENGTH]
    if len(value) < min_length or not any(char.isalpha() for char in value) or simplify(value) in NON_ANSWERS:
        return REJECTED
    return accepted(value)
