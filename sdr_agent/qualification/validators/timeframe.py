"""When the lead wants to start: "mês que vem", "em 2 semanas", "até o fim do ano", "ASAP", "não sei"."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Callable

from ..textnorm import collapse_spaces, fold
from .result import REJECTED, ParseResult, accepted

DAYS_PER_MONTH = 30.44
MAX_MONTHS = 120.0

_COUNT_WORDS = {
    "um": 1, "uma": 1, "one": 1, "a": 1, "an": 1, "dois": 2, "duas": 2, "two": 2, "tres": 3, "three": 3,
    "quatro": 4, "four": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6, "sete": 7, "seven": 7, "oito": 8,
    "eight": 8, "nove": 9, "nine": 9, "dez": 10, "ten": 10, "doze": 12, "twelve": 12, "alguns": 3, "algumas": 3,
    "uns": 3, "umas": 3, "few": 3, "a few": 3, "couple of": 2, "a couple of": 2,
}
_UNITS = {"dia": "day", "day": "day", "semana": "week", "week": "week", "mes": "month", "month": "month",
          "ano": "year", "year": "year"}
_UNIT_MONTHS = {"day": 1 / DAYS_PER_MONTH, "week": 7 / DAYS_PER_MONTH, "month": 1.0, "year": 12.0}
_COUNT = r"\d{1,3}(?:[.,]\d)?|" + "|".join(sorted(_COUNT_WORDS, key=len, reverse=True))
_UNIT = r"(?P<unit>dia|day|semana|week|mes|month|ano|year)(?:s|es)?\b"
# "em 2 semanas", "daqui a 3 meses", "in 2 weeks", "próximos 6 meses"; of "2 a 3 meses" or "3-6 months"
# only the later end is captured, which is the conservative reading for scoring.
_LEADS = r"em|daqui a|daqui|dentro de|nos proximos|nas proximas|proximos|proximas|em ate|ate|in|within|in the next|next"
_RELATIVE = re.compile(
    rf"\b(?:(?P<lead>{_LEADS})\s+)?"
    rf"(?:(?:{_COUNT})\s*(?:-|a|ou|to|or)\s*)?(?P<count>{_COUNT})\s+{_UNIT}"
)
# Spoken month name -> (month number, label); labels are English so stored values do not depend on language.
_MONTH_NAMES = {
    name: (number, names[1])
    for number, names in enumerate(
        [("janeiro", "january"), ("fevereiro", "february"), ("marco", "march"), ("abril", "april"), ("maio", "may"),
         ("junho", "june"), ("julho", "july"), ("agosto", "august"), ("setembro", "september"), ("outubro", "october"),
         ("novembro", "november"), ("dezembro", "december")],
        start=1,
    )
    for name in names
}
_IN_MONTH = re.compile(rf"\b(?:em|ate|no inicio de|no fim de|in|by|until|early|late)\s+({'|'.join(_MONTH_NAMES)})\b")
# A month named on its own ("julho", "fim de julho") answers the question, but inside a longer message
# about something else it is not clear enough to fill the slot.
_ANY_MONTH = re.compile(rf"\b({'|'.join(name for name in _MONTH_NAMES if name != 'may')})\b")  # "may be": a verb
# Quarters: "Q3", "3º tri", "terceiro trimestre", "third quarter" -> the month the quarter starts.
_ORDINALS = {"primeiro": 1, "segundo": 2, "terceiro": 3, "quarto": 4, "first": 1, "second": 2, "third": 3, "fourth": 4,
             "1": 1, "2": 2, "3": 3, "4": 4}
_QUARTER = re.compile(
    r"\bq([1-4])\b|\b([1-4])\s*(?:o|º|°)?\s*(?:tri|trimestre)\b"
    r"|\b(primeiro|segundo|terceiro|quarto)\s+trimestre\b|\b(first|second|third|fourth)\s+quarter\b"
)
# Seasons and dates people plan around, by the month they start in. Portuguese seasons are the
# southern hemisphere's (Brazil), English ones the northern hemisphere's.
_SEASONS = (
    (re.compile(r"\bcarnaval\b|\bcarnival\b"), 3, "after carnival"),
    (re.compile(r"\bverao\b"), 12, "summer"),
    (re.compile(r"\boutono\b"), 3, "autumn"),
    (re.compile(r"\binverno\b"), 6, "winter"),
    (re.compile(r"\bprimavera\b"), 9, "spring"),
    (re.compile(r"\bsummer\b"), 6, "summer"),
    (re.compile(r"\b(?:fall|autumn)\b"), 9, "autumn"),
    (re.compile(r"\bwinter\b"), 12, "winter"),
    (re.compile(r"\bspring\b"), 3, "spring"),
)


# Turns "now" into (months from now, label); most phrases ignore "now".
_Value = Callable[[datetime], tuple[float | None, str]]


def _fixed(months: float | None, label: str) -> _Value:
    return lambda _now: (months, label)


def _until_end_of_year(now: datetime) -> tuple[float | None, str]:
    end = datetime(now.year + 1, 1, 1, tzinfo=timezone.utc)
    return _months_between(now, end), "end of year"


def _until_end_of_quarter(offset: int, label: str) -> _Value:
    def months(now: datetime) -> tuple[float | None, str]:
        quarter_end_month = ((now.month - 1) // 3 + 1 + offset) * 3  # 3, 6, 9, 12, 15...
        year, month = now.year + quarter_end_month // 12, quarter_end_month % 12 + 1
        return _months_between(now, datetime(year, month, 1, tzinfo=timezone.utc)), label

    return months


# The phrase found earliest in the message wins. "Clear" phrases may also fill the slot from a
# message that answers another question; "não sei" or a bare "agora" only answer this one.
_PHRASES: tuple[tuple[re.Pattern[str], _Value, bool], ...] = tuple(
    (re.compile(pattern), value, clear)
    for pattern, value, clear in (
        (
            r"\b(?:nao sei|nao sabemos|sei la|nao faco ideia|a definir|indefinido|ainda nao (?:sei|sabemos|definimos)"
            r"|depende|not sure|don t know|dont know|no idea|tbd|unsure|undecided|depends)\b",
            _fixed(None, "unknown"),
            False,
        ),
        (
            r"\b(?:sem pressa|sem previsao|sem prazo|nao tenho pressa|nao temos pressa|so pesquisando|apenas pesquisando"
            r"|so olhando|just (?:looking|researching|browsing)|no rush|no hurry|no timeline|no plans?)\b",
            _fixed(None, "no rush"),
            False,
        ),
        (
            r"\b(?:imediatamente|imediato|urgente|urgencia|o quanto antes|quanto antes|o mais rapido possivel|pra ontem"
            r"|para ontem|asap|a s a p|immediately|right away|right now|urgent|urgently|as soon as possible)\b",
            _fixed(0.0, "immediately"),
            True,
        ),
        (r"\b(?:esta|essa|nesta|nessa) semana\b|\bthis week\b", _fixed(0.25, "this week"), True),
        (r"\b(?:semana que vem|proxima semana)\b|\bnext week\b", _fixed(0.5, "next week"), True),
        (
            r"\b(?:este|esse|neste|nesse) mes\b|\bthis month\b|\bate o fim do mes\b|\bend of (?:the )?month\b",
            _fixed(0.5, "this month"),
            True,
        ),
        (r"\b(?:mes que vem|proximo mes)\b|\bnext month\b", _fixed(1.0, "next month"), True),
        (r"\b(?:este|esse|neste|nesse) trimestre\b|\bthis quarter\b", _until_end_of_quarter(0, "this quarter"), True),
        (r"\b(?:proximo trimestre|trimestre que vem)\b|\bnext quarter\b", _until_end_of_quarter(1, "next quarter"), True),
        (
            r"\b(?:proximo semestre|semestre que vem|segundo semestre)\b|\b(?:next semester|second half)\b",
            _fixed(6.0, "next semester"),
            True,
        ),
        (
            r"\b(?:(?:ate o|no) (?:fim|final) do ano|(?:este|esse|neste|nesse) ano|ainda este ano)\b"
            r"|\b(?:(?:by )?(?:the )?end of (?:the )?year|this year|later this year|year end|eoy)\b",
            _until_end_of_year,
            True,
        ),
        (r"\b(?:ano que vem|proximo ano)\b|\bnext year\b", _fixed(12.0, "next year"), True),
        (r"^(?:agora|ja|hoje|pra ja|para ja|ja ja|now|today)$", _fixed(0.0, "immediately"), False),
        (r"\b(?:amanha|depois de amanha|tomorrow|hoje|today)\b", _fixed(0.0, "immediately"), False),
    )
)


def parse(text: str, language: str, now: datetime) -> ParseResult:
    """{"months": float | None, "label": str}; months is None when the lead does not know yet."""
    return _parse(_normalised(text), now, clear_only=False)


def find(text: str, language: str, now: datetime) -> ParseResult:
    """A timeframe stated unmistakably inside a longer message ("queremos começar mês que vem")."""
    return _parse(_normalised(text), now, clear_only=True)


def _normalised(text: str) -> str:
    """Folded text keeping the punctuation numbers need ("1,5", "3-6")."""
    return collapse_spaces(re.sub(r"[^\w\s.,-]|_", " ", fold(text))).strip(" .,-")


def _parse(simple: str, now: datetime, clear_only: bool) -> ParseResult:
    now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    candidates: list[tuple[int, float | None, str]] = []
    for pattern, value, clear in _PHRASES:
        match = pattern.search(simple)
        if match and (clear or not clear_only):
            months, label = value(now)
            candidates.append((match.start(), months, label))
    relative = _RELATIVE.search(simple)
    # A bare "3 meses" may be about anything ("trabalho aqui há 3 meses"); "em 3 meses" is a timeframe.
    if relative and (relative.group("lead") or not clear_only):
        count, unit = _count(relative.group("count")), _UNITS[relative.group("unit")]
        months = count * _UNIT_MONTHS[unit]
        if months <= MAX_MONTHS:
            candidates.append((relative.start(), months, f"{count:g} {unit}{'' if count == 1 else 's'}"))
    month_name = _IN_MONTH.search(simple) or (None if clear_only else _ANY_MONTH.search(simple))
    if month_name:
        number, label = _MONTH_NAMES[month_name.group(1)]
        candidates.append((month_name.start(), _months_until_month(now, number), label))
    quarter = _QUARTER.search(simple)
    if quarter and (not clear_only or quarter.group(1)):
        number = _ORDINALS[next(group for group in quarter.groups() if group)]
        candidates.append((quarter.start(), _months_until_quarter(now, number), f"Q{number}"))
    if not clear_only:
        for pattern, month, label in _SEASONS:
            if season := pattern.search(simple):
                candidates.append((season.start(), _months_until_month(now, month), label))
    if not candidates:
        return REJECTED
    _, months, label = min(candidates, key=lambda candidate: candidate[0])
    return accepted({"months": None if months is None else _round(months), "label": label})


def _count(raw: str) -> float:
    """The count written as digits ("1,5") or as a word ("dois", "a few")."""
    return float(raw.replace(",", ".")) if raw[0].isdigit() else float(_COUNT_WORDS[raw])


def _months_until_month(now: datetime, month: int) -> float:
    """Months from now to the start of the next `month` (this month counts as half a month away)."""
    if month == now.month:
        return 0.5
    year = now.year if month > now.month else now.year + 1
    return _months_between(now, datetime(year, month, 1, tzinfo=timezone.utc))


def _months_until_quarter(now: datetime, quarter: int) -> float:
    """Months from now to the start of the next such quarter; the current quarter counts as half a month away."""
    first_month = 3 * (quarter - 1) + 1
    if first_month <= now.month < first_month + 3:
        return 0.5
    return _months_until_month(now, first_month)


def _months_between(start: datetime, end: datetime) -> float:
    return max((end - start).total_seconds() / 86400 / DAYS_PER_MONTH, 0.0)


def _round(months: float) -> float:
    return round(months, 1)
