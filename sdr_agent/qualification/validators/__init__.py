"""Parsers for each slot type, one module per type, behind two entry points the engine uses."""
from __future__ import annotations

from datetime import datetime
from typing import Mapping, Protocol, Sequence

from . import choice, company, consent, email_address, free_text, money, person_name, phone, timeframe
from .result import REJECTED, ParseResult

SLOT_TYPES = ("consent", "person_name", "company", "email", "phone", "choice", "free_text", "money", "timeframe")
# Types that may also be filled from a message answering another question, when clearly marked.
SIDE_TYPES = frozenset({"email", "person_name", "company", "money", "timeframe"})
NUMERIC_TYPES = frozenset({"money", "timeframe"})

__all__ = ["SLOT_TYPES", "SIDE_TYPES", "NUMERIC_TYPES", "AnswerSpec", "ParseResult", "parse_answer", "find_answer"]


class AnswerSpec(Protocol):
    """The parts of a question stage that parsing depends on (read-only, as on a frozen dataclass)."""

    @property
    def type(self) -> str: ...

    @property
    def options(self) -> Sequence[choice.Choosable]: ...

    @property
    def min_length(self) -> int: ...

    @property
    def currencies(self) -> Mapping[str, str]: ...


def parse_answer(spec: AnswerSpec, text: str, language: str, now: datetime) -> ParseResult:
    """Parse a direct answer to a question of `spec.type`."""
    kind = spec.type
    if kind == "choice":
        return choice.parse(text, language, spec.options)
    if kind == "free_text":
        return free_text.parse(text, language, spec.min_length)
    if kind == "money":
        return money.parse(text, language, spec.currencies.get(language))
    if kind == "timeframe":
        return timeframe.parse(text, language, now)
    simple_parsers = {
        "consent": consent.parse,
        "person_name": person_name.parse,
        "company": company.parse,
        "email": email_address.parse,
        "phone": phone.parse,
    }
    return simple_parsers[kind](text, language)


def find_answer(spec: AnswerSpec, text: str, language: str, now: datetime) -> ParseResult:
    """A value for `spec` clearly stated in a message that answers another question."""
    kind = spec.type
    if kind == "money":
        return money.find(text, language, spec.currencies.get(language))
    if kind == "timeframe":
        return timeframe.find(text, language, now)
    finders = {"email": email_address.find, "person_name": person_name.find, "company": company.find}
    return finders[kind](text, language) if kind in finders else REJECTED
