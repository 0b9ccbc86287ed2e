"""A day and time written by the lead, in pt-BR or en: "terça às 15h", "amanhã 10h", "next tuesday at 3pm"."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from ..qualification.language import primary
from ..qualification.textnorm import clean, collapse_spaces, fold
from ..qualification.validators.spoken_numbers import numerals


@dataclass(frozen=True)
class When:
    """A local day, and the local time when the lead gave one."""

    day: date
    at: time | None


_RELATIVE_DAYS = {
    "depois de amanha": 2, "day after tomorrow": 2, "amanha": 1, "tomorrow": 1, "tmrw": 1, "hoje": 0, "today": 0,
}
_WEEKDAYS = {
    "segunda": 0, "seg": 0, "terca": 1, "quarta": 2, "qua": 2, "quinta": 3, "qui": 3, "sexta": 4, "sex": 4,
    "sabado": 5, "sab": 5, "domingo": 6, "dom": 6, "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1,
    "wednesday": 2, "wed": 2, "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}
_MONTHS = {
    name: number
    for number, names in enumerate(
        [("janeiro", "january", "jan"), ("fevereiro", "february", "feb", "fev"), ("marco", "march", "mar"),
         ("abril", "april", "apr", "abr"), ("maio", "may", "mai"), ("junho", "june", "jun"),
         ("julho", "july", "jul"), ("agosto", "august", "aug", "ago"), ("setembro", "september", "sept", "sep", "set"),
         ("outubro", "october", "oct", "out"), ("novembro", "november", "nov"), ("dezembro", "december", "dec", "dez")],
        start=1,
    )
    for name in names
}


def _alternatives(names: object) -> str:
    return "|".join(sorted(names, key=len, reverse=True))  # type: ignore[call-overload]


_MONTH = _alternatives(_MONTHS)
_ORDINAL_SUFFIX = r"(?:st|nd|rd|th|o|º)"
# Date patterns, most specific first; each yields (day, month or None, year or None) groups.
_DATES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), kind)
    for pattern, kind in (
        (r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?\b", "numeric"),
        (rf"\b(?:dia\s+)?(\d{{1,2}}){_ORDINAL_SUFFIX}?\s+(?:de\s+|of\s+)?({_MONTH})\b", "day month"),
        (rf"\b({_MONTH})\s+(\d{{1,2}}){_ORDINAL_SUFFIX}?\b", "month day"),
        (rf"\b(?:dia\s+(\d{{1,2}}|primeiro){_ORDINAL_SUFFIX}?|(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th))\b", "day"),
    )
)
_RELATIVE = re.compile(rf"\b({_alternatives(_RELATIVE_DAYS)})\b")
_WEEKDAY = re.compile(
    rf"\b(?:(?P<next>proxima|proximo|next)\s+)?(?P<name>{_alternatives(_WEEKDAYS)})(?:\s+feira)?\b"
    r"(?P<later>\s+(?:que vem|da semana que vem|da proxima semana|next week))?"
)
_TIME = re.compile(
    r"(?:\b(?P<prep>as|a|at|por volta das|around|pelas|umas|after|depois das)\s+)?"
    r"\b(?P<h>\d{1,2})"
    r"(?:\s*[:h.]\s*(?P<m>\d{2})(?:\s*(?:min|m)\b)?|\s*(?P<mark>h|hs|hr|hrs|horas|hora)\b)?"
    r"(?:\s*(?P<ampm>a\.?\s?m\.?|p\.?\s?m\.?)(?!\w))?"
    r"(?:\s+e\s+(?P<half>meia))?"
    r"(?:\s+(?:da|de|pela|a|in the)\s+(?P<period>manha|tarde|noite|morning|afternoon|evening))?"
    r"(?:\s*(?P<oclock>o\s?clock))?"
)
_NOON = re.compile(r"\b(?:meio dia|noon|midday)(?:\s+e\s+(?P<half>meia))?\b")
# Without am/pm, "às 3" is three in the afternoon: nobody books a sales call at 3 a.m.
_AFTERNOON_GUESS = range(1, 8)


def parse_when(text: str, now: datetime, language: str) -> When | None:
    """The day and time asked for, resolved against `now` (local, in the booking zone); None if neither."""
    simple = _normalised(text)
    today = now.date()
    day, simple = _find_day(simple, now, language)
    if day is False:
        return None
    at = _find_time(simple)
    if day is None:
        if at is None:
            return None
        day = today if datetime.combine(today, at, now.tzinfo) > now else today + timedelta(days=1)
    return When(day, at)


def _normalised(text: str) -> str:
    """Folded text with number words in digits, hyphens and apostrophes as spaces ("quinta-feira", "o'clock")."""
    folded = fold(clean(text))
    folded = re.sub(r"[^\w\s:/.]|_|-", " ", folded)
    return collapse_spaces(numerals(folded))


def _find_day(simple: str, now: datetime, language: str) -> tuple[date | None | bool, str]:
    """(the day named, text with it blanked); the day is False when one was named but does not exist."""
    today = now.date()
    for pattern, kind in _DATES:
        match = pattern.search(simple)
        if match:
            return _explicit_date(kind, match.groups(), today, language), _blank(simple, match)
    relative = _RELATIVE.search(simple)
    if relative:
        return today + timedelta(days=_RELATIVE_DAYS[relative.group(1)]), _blank(simple, relative)
    weekday = _WEEKDAY.search(simple)
    if weekday:
        after_today = bool(weekday.group("next") or weekday.group("later"))
        return _weekday(_WEEKDAYS[weekday.group("name")], today, after_today), _blank(simple, weekday)
    return None, simple


def _explicit_date(kind: str, groups: tuple[str | None, ...], today: date, language: str) -> date | bool:
    """The date of a matched pattern, in the future; False if the calendar has no such day."""
    year: int | None = None
    if kind == "numeric":
        first, second = int(groups[0] or 0), int(groups[1] or 0)
        # Brazilians write day/month; English speakers often month/day. Try the other order if invalid.
        day, month = (second, first) if primary(language) == "en" else (first, second)
        if month > 12:
            day, month = month, day
        year = _full_year(groups[2])
    elif kind == "day month":
        day, month = int(groups[0] or 0), _MONTHS[groups[1] or ""]
    elif kind == "month day":
        day, month = int(groups[1] or 0), _MONTHS[groups[0] or ""]
    else:
        raw = groups[0] or groups[1] or ""
        return _next_day_of_month(1 if raw == "primeiro" else int(raw), today)
    if year is not None:
        return _valid(year, month, day)
    this_year = _valid(today.year, month, day)
    if isinstance(this_year, date) and this_year >= today:
        return this_year
    return _valid(today.year + 1, month, day)


def _next_day_of_month(day: int, today: date) -> date | bool:
    """The next date (today included) falling on this day of the month, within a few months."""
    year, month = today.year, today.month
    for _ in range(3):
        candidate = _valid(year, month, day)
        if isinstance(candidate, date) and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return False


def _weekday(weekday: int, today: date, after_today: bool) -> date:
    """The next date on `weekday`; today counts unless the lead said "next"/"que vem"."""
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and after_today:
        ahead = 7
    return today + timedelta(days=ahead)


def _find_time(simple: str) -> time | None:
    noon = _NOON.search(simple)
    for match in _TIME.finditer(simple):
        groups = match.groupdict()
        if not any(groups[name] for name in ("prep", "m", "mark", "ampm", "half", "period", "oclock")):
            continue  # a bare number is not a time: "dia 27" or a count
        if noon and noon.start() < match.start():
            break
        return _clock(int(groups["h"]), groups["m"], groups["half"], groups["ampm"], groups["period"])
    if noon:
        return time(12, 30 if noon.group("half") else 0)
    return None


def _clock(hour: int, minute_text: str | None, half: str | None, ampm: str | None, period: str | None) -> time | None:
    minute = 30 if half else int(minute_text or 0)
    meridiem = (ampm or "").replace(".", "").replace(" ", "")
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif period in ("tarde", "noite", "afternoon", "evening"):
        hour = hour + 12 if hour < 12 else hour
    elif period is None and hour in _AFTERNOON_GUESS:
        hour += 12
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _valid(year: int, month: int, day: int) -> date | bool:
    try:
        return date(year, month, day)
    except ValueError:
        return False


def _full_year(raw: str | None) -> int | None:
    if raw is None:
        return None
    return 2000 + int(raw) if len(raw) == 2 else int(raw)


def _blank(simple: str, match: re.Match[str]) -> str:
    """The text with the match replaced by spaces, so its digits are not read again as a time."""
    return simple[: match.start()] + " " * (match.end() - match.start()) + simple[match.end() :]
