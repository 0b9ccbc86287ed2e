"""Dashboard filters: parsed once from the query string, applied as SQL conditions."""
from __future__ import annotations

import re
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Mapping

from sqlalchemy import and_, exists, not_, or_, select
from sqlalchemy.sql.expression import ColumnElement

from ..models import ConversationThread, Lead
from ..qualification import TERMINAL_STAGES

CHANNELS = ("whatsapp", "voice")
OUTCOMES = ("in_progress", "qualified", "disqualified", "declined", "handed_off", "opted_out")
SEARCH_MAX_CHARS = 100
DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 366
# Dates a query may name: far enough out for any real use, near enough that "a day later" exists.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)
# Scores beyond this are refused and page numbers clamped to it: no value can overflow a database integer.
INT_BOUND = 1_000_000
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")


class BadFilter(ValueError):
    """A query-string value the dashboard cannot use; the message says which and why (answered 400)."""


@dataclass(frozen=True)
class Period:
    """Whole UTC days from `first` to `last`, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        """First instant of the period (inclusive)."""
        return datetime.combine(self.first, time.min, tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """First instant after the period (exclusive)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=timezone.utc)

    def days(self) -> list[date]:
        """Every day of the period, in order."""
        return [self.first + timedelta(days=offset) for offset in range((self.last - self.first).days + 1)]

    @classmethod
    def from_args(cls, args: Mapping[str, str], today: date) -> "Period":
        """`from`/`to` (YYYY-MM-DD) from the query string; default: the last 30 days; at most 366 days."""
        given_first, given_last = _date(args.get("from"), "from"), _date(args.get("to"), "to")
        last = given_last or today
        first = given_first or last - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
        first, last = min(first, last), max(first, last)
        if (last - first).days + 1 > MAX_PERIOD_DAYS:
            raise BadFilter(f"the period is at most {MAX_PERIOD_DAYS} days; {first} to {last} is "
                            f"{(last - first).days + 1}")
        return cls(first, last)


@dataclass(frozen=True)
class LeadFilters:
    """What the lead list and the CSV export are narrowed to."""

    stage: str | None = None
    outcome: str | None = None
    channel: str | None = None
    score_min: int | None = None
    score_max: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    q: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> "LeadFilters":
        """Read the filters from a query string; unknown choices are ignored, malformed values raise BadFilter."""
        outcome = args.get("outcome") or None
        channel = args.get("channel") or None
        query = _text(args.get("q"), SEARCH_MAX_CHARS)
        return cls(
            stage=_text(args.get("stage"), 40) or None,
            outcome=outcome if outcome in OUTCOMES else None,
            channel=channel if channel in CHANNELS else None,
            score_min=_score(args.get("score_min"), "score_min"),
            score_max=_score(args.get("score_max"), "score_max"),
            created_from=_date(args.get("created_from"), "created_from"),
            created_to=_date(args.get("created_to"), "created_to"),
            q=query or None,
        )

    def as_args(self) -> dict[str, str]:
        """The filters as query-string values (for links that keep them)."""
        values = {field.name: getattr(self, field.name) for field in fields(self)}
        return {name: str(value) for name, value in values.items() if value is not None}

    def conditions(self) -> list[ColumnElement[bool]]:
        """WHERE conditions on `leads` for these filters (erased leads are never listed)."""
        conditions: list[ColumnElement[bool]] = [Lead.erased_at.is_(None)]
        if self.stage:
            conditions.append(Lead.stage == self.stage)
        if self.outcome:
            conditions.append(outcome_condition(self.outcome))
        if self.channel:
            conditions.append(talked_on(self.channel))
        if self.score_min is not None:
            conditions.append(Lead.score >= self.score_min)
        if self.score_max is not None:
            conditions.append(Lead.score <= self.score_max)
        if self.created_from:
            conditions.append(Lead.created_at >= Period(self.created_from, self.created_from).start)
        if self.created_to:
            conditions.append(Lead.created_at < Period(self.created_to, self.created_to).end)
        if self.q:
            columns = (Lead.name, Lead.company, Lead.email, Lead.phone, Lead.profile_name)
            conditions.append(or_(*(column.icontains(self.q, autoescape=True) for column in columns)))
        return conditions


def outcome_condition(outcome: str) -> ColumnElement[bool]:
    """The leads with this outcome."""
    if outcome == "handed_off":
        return Lead.handed_off.is_(True)
    if outcome == "opted_out":
        return Lead.opted_out.is_(True)
    if outcome == "in_progress":
        return and_(not_(Lead.stage.in_(TERMINAL_STAGES)), Lead.opted_out.is_(False), Lead.handed_off.is_(False))
    return Lead.stage == outcome


def outcome_of(stage: str, opted_out: bool, handed_off: bool) -> str:
    """The one outcome label shown for a lead (opt-out wins: it decides whether we may write)."""
    if opted_out:
        return "opted_out"
    if handed_off or stage == "handoff":
        return "handed_off"
    if stage in TERMINAL_STAGES:
        return stage
    return "in_progress"


def talked_on(channel: str) -> ColumnElement[bool]:
    """Leads with at least one conversation on this channel."""
    return exists(
        select(ConversationThread.id).where(ConversationThread.lead_id == Lead.id, ConversationThread.channel == channel)
    )


def _text(raw: str | None, limit: int) -> str:
    """A trimmed, capped query-string value without NUL (PostgreSQL refuses it in any text parameter)."""
    return (raw or "").replace("\x00", "").strip()[:limit]


def whole_number(raw: Any, name: str) -> int | None:
    """A whole number from the query string, clamped to ±1,000,000; None when absent."""
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    if not _WHOLE_NUMBER.fullmatch(text):
        raise BadFilter(f"{name} must be a whole number, got {text[:40]!r}")
    # Clamped before int(): a thousand-digit number would cost CPU to convert, and only its sign matters.
    if len(text.lstrip("+-").lstrip("0")) > len(str(INT_BOUND)):
        return -INT_BOUND if text.startswith("-") else INT_BOUND
    return max(-INT_BOUND, min(INT_BOUND, int(text)))


def _score(raw: Any, name: str) -> int | None:
    """A score bound; one beyond ±1,000,000 is a mistake worth saying, not a filter to run."""
    value = whole_number(raw, name)
    if value is not None and abs(value) >= INT_BOUND:
        raise BadFilter(f"{name} must be between {-INT_BOUND + 1} and {INT_BOUND - 1}")
    return value


def _date(raw: Any, name: str) -> date | None:
    """A YYYY-MM-DD date between 2000 and 2099 from the query string; None when absent."""
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise BadFilter(f"{name} must be a date as YYYY-MM-DD, got {text[:40]!r}") from None
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise BadFilter(f"{name} must be between {EARLIEST_DATE} and {LATEST_DATE}, got {value}")
    return value
