"""E-mail addresses, syntax only (no DNS): found anywhere in the message, returned normalised."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from ..textnorm import EMAIL_PATTERN
from .result import REJECTED, ParseResult, accepted


def parse(text: str, language: str) -> ParseResult:
    """The first syntactically valid e-mail address in the text."""
    for candidate in EMAIL_PATTERN.findall(text):
        try:
            return accepted(validate_email(candidate.strip(".'"), check_deliverability=False).normalized)
        except EmailNotValidError:
            continue
    return REJECTED


# An address is unmistakable wherever it appears, so side extraction is the same as parsing.
find = parse
