"""Booking settings read from the environment, validated, and frozen.

=============================  ==================  ===========================================================
Variable                       Default             Meaning
=============================  ==================  ===========================================================
SDR_BOOKING_TIMEZONE           America/Sao_Paulo   IANA zone in which hours, days, holidays and texts are read
SDR_BOOKING_DAYS               mon-fri             Business days: names (mon..sun), comma-separated, ranges ok
SDR_BOOKING_HOURS              09:00-18:00         Opening and closing time; the last slot ends by closing
SDR_BOOKING_SLOT_MINUTES       30                  Length of one meeting; slots start at opening, back to back
SDR_BOOKING_MIN_NOTICE_MINUTES 120                 No slot starts sooner than this after "now"
SDR_BOOKING_OFFER_COUNT        3                   How many slots are offered (and suggested as closest ones)
SDR_BOOKING_HORIZON_DAYS       14                  No slot starts later than this many days after "now"
SDR_BOOKING_HOLIDAYS           (empty)             Comma-separated ISO dates (2025-12-25) with no meetings
SDR_BOOKING_REMINDER_MINUTES   60                  How long before the meeting the reminder is due
=============================  ==================  ===========================================================
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Callable, Mapping, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# A WhatsApp list longer than this is hard to read, and longer notice or horizon is a typo.
MAX_OFFER_COUNT = 10
MAX_HORIZON_DAYS = 366
MAX_MINUTES = 60 * 24 * 14

_HOURS = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?$")
_T = TypeVar("_T")


class SchedulingConfigError(ValueError):
    """A booking setting is invalid; `variable` names it."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


@dataclass(frozen=True)
class SchedulingConfig:
    """When meetings can be booked, and how many slots to offer."""

    zone: ZoneInfo = ZoneInfo("America/Sao_Paulo")
    business_days: frozenset[int] = frozenset(range(5))  # date.weekday(): Monday is 0
    opens: time = time(9, 0)
    closes: time = time(18, 0)
    slot_length: timedelta = timedelta(minutes=30)
    min_notice: timedelta = timedelta(hours=2)
    offer_count: int = 3
    horizon: timedelta = timedelta(days=14)
    holidays: frozenset[date] = frozenset()
    reminder_before: timedelta = timedelta(minutes=60)

    def __post_init__(self) -> None:
        if not self.business_days or not self.business_days <= set(range(7)):
            raise SchedulingConfigError("SDR_BOOKING_DAYS", "needs at least one day of mon..sun")
        if _minutes(self.opens) + self.slot_length.total_seconds() / 60 > _minutes(self.closes):
            raise SchedulingConfigError("SDR_BOOKING_HOURS", "must open before closing and fit at least one slot")
        if not timedelta(minutes=5) <= self.slot_length <= timedelta(hours=8):
            raise SchedulingConfigError("SDR_BOOKING_SLOT_MINUTES", "must be between 5 and 480")
        if not 1 <= self.offer_count <= MAX_OFFER_COUNT:
            raise SchedulingConfigError("SDR_BOOKING_OFFER_COUNT", f"must be between 1 and {MAX_OFFER_COUNT}")
        if not timedelta(days=1) <= self.horizon <= timedelta(days=MAX_HORIZON_DAYS):
            raise SchedulingConfigError("SDR_BOOKING_HORIZON_DAYS", f"must be between 1 and {MAX_HORIZON_DAYS}")
        if self.min_notice < timedelta(0):
            raise SchedulingConfigError("SDR_BOOKING_MIN_NOTICE_MINUTES", "must not be negative")
        if self.reminder_before < timedelta(0):
            raise SchedulingConfigError("SDR_BOOKING_REMINDER_MINUTES", "must not be negative")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SchedulingConfig:
        """Settings from SDR_BOOKING_* variables; unset or blank ones take the defaults."""

        def read(variable: str, parse: Callable[[str], _T], default: _T) -> _T:
            raw = (environ.get(variable) or "").strip()
            if not raw:
                return default
            try:
                return parse(raw)
            except (ValueError, ZoneInfoNotFoundError) as error:
                raise SchedulingConfigError(variable, f"{raw!r} is invalid ({error})") from None

        defaults = cls()
        opens, closes = read("SDR_BOOKING_HOURS", parse_hours, (defaults.opens, defaults.closes))
        return cls(
            zone=read("SDR_BOOKING_TIMEZONE", parse_zone, defaults.zone),
            business_days=read("SDR_BOOKING_DAYS", parse_days, defaults.business_days),
            opens=opens,
            closes=closes,
            slot_length=timedelta(minutes=read("SDR_BOOKING_SLOT_MINUTES", _whole_number, 30)),
            min_notice=timedelta(minutes=read("SDR_BOOKING_MIN_NOTICE_MINUTES", _whole_number, 120)),
            offer_count=read("SDR_BOOKING_OFFER_COUNT", _whole_number, defaults.offer_count),
            horizon=timedelta(days=read("SDR_BOOKING_HORIZON_DAYS", _whole_number, 14)),
            holidays=read("SDR_BOOKING_HOLIDAYS", parse_holidays, defaults.holidays),
            reminder_before=timedelta(minutes=read("SDR_BOOKING_REMINDER_MINUTES", _whole_number, 60)),
        )


def parse_zone(raw: str) -> ZoneInfo:
    """An IANA zone such as America/Sao_Paulo."""
    if raw.startswith("/") or ".." in raw:
        raise ValueError("not an IANA zone name")
    return ZoneInfo(raw)


def parse_days(raw: str) -> frozenset[int]:
    """"mon-fri", "mon,wed,fri" or "sun-thu" as weekday numbers (Monday 0); a range may wrap past Sunday."""
    days: set[int] = set()
    for part in raw.lower().split(","):
        bounds = [bound.strip()[:3] for bound in part.split("-")]
        if len(bounds) > 2 or any(bound not in DAY_NAMES for bound in bounds):
            raise ValueError(f"use day names {', '.join(DAY_NAMES)}, e.g. mon-fri")
        first, last = DAY_NAMES.index(bounds[0]), DAY_NAMES.index(bounds[-1])
        days.update((first + offset) % 7 for offset in range((last - first) % 7 + 1))
    return frozenset(days)


def parse_hours(raw: str) -> tuple[time, time]:
    """"09:00-18:00" or "9-18" as (opens, closes)."""
    match = _HOURS.match(raw)
    if not match:
        raise ValueError("use HH:MM-HH:MM, e.g. 09:00-18:00")
    opens = time(int(match.group(1)), int(match.group(2) or 0))
    closes = time(int(match.group(3)), int(match.group(4) or 0))
    if opens >= closes:
        raise ValueError("opening must be before closing")
    return opens, closes


def parse_holidays(raw: str) -> frozenset[date]:
    """Comma-separated ISO dates; blank items are ignored."""
    return frozenset(date.fromisoformat(item.strip()) for item in raw.split(",") if item.strip())


def _whole_number(raw: str) -> int:
    if not raw.isdigit() or int(raw) > MAX_MINUTES:
        raise ValueError(f"expected a whole number from 0 to {MAX_MINUTES}")
    return int(raw)


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute
