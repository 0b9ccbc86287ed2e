"""Short display text of a parsed answer, to say back to the lead ("R$ 20.000 por mês", "next month")."""
from __future__ import annotations

import re
from typing import Any, Mapping

from .flow_model import QuestionStage
from .language import primary

MAX_CHARS = 80

_PT = "pt"
# Stored timeframe labels are English; these say them back.
_TIMEFRAMES = {
    _PT: {
        "unknown": "que ainda não sabe", "no rush": "sem pressa", "immediately": "imediatamente",
        "this week": "esta semana", "next week": "semana que vem", "this month": "este mês",
        "next month": "mês que vem", "this quarter": "este trimestre", "next quarter": "próximo trimestre",
        "next semester": "próximo semestre", "end of year": "até o fim do ano", "next year": "ano que vem",
        "after carnival": "depois do carnaval", "summer": "no verão", "autumn": "no outono", "winter": "no inverno",
        "spring": "na primavera", "Q1": "no 1º trimestre", "Q2": "no 2º trimestre", "Q3": "no 3º trimestre",
        "Q4": "no 4º trimestre",
    },
    "en": {"unknown": "you're not sure yet", "end of year": "by the end of the year", "after carnival": "after Carnival",
           "summer": "in the summer", "autumn": "in the autumn", "winter": "in the winter", "spring": "in the spring",
           "Q1": "in Q1", "Q2": "in Q2", "Q3": "in Q3", "Q4": "in Q4"},
}
_MONTHS_PT = (
    "janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro",
    "dezembro",
)
_MONTHS_EN = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december",
)
_UNITS_PT = {"day": ("dia", "dias"), "week": ("semana", "semanas"), "month": ("mês", "meses"), "year": ("ano", "anos")}
_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?) (day|week|month|year)s?$")
_SYMBOLS = {_PT: {"BRL": "R$ ", "USD": "US$ ", "EUR": "€ ", "GBP": "£ "},
            "en": {"BRL": "R$", "USD": "$", "EUR": "€", "GBP": "£"}}
_PERIODS = {_PT: {"month": " por mês", "year": " por ano"}, "en": {"month": " a month", "year": " a year"}}
_MONEY_WORDS = {
    _PT: {"unknown": "que ainda não sabe", "range": "de {low} a {high}", "up_to": "até {high}", "over": "mais de {low}"},
    "en": {"unknown": "you're not sure yet", "range": "{low} to {high}", "up_to": "up to {high}", "over": "over {low}"},
}


def display_value(stage: QuestionStage, value: Any, language: str) -> str:
    """What the lead's answer was understood as, in `language`, short enough to say back."""
    wording = _PT if primary(language) == _PT else "en"
    if stage.type == "choice":
        option = stage.option(value)
        return option.labels[language] if option is not None else str(value)
    if stage.type == "money" and isinstance(value, Mapping):
        return _money(value, wording)
    if stage.type == "timeframe" and isinstance(value, Mapping):
        return _timeframe(str(value.get("label")), wording)
    return _shortened(str(value))


def _shortened(text: str) -> str:
    """At most MAX_CHARS, cut at a word."""
    if len(text) <= MAX_CHARS:
        return text
    return text[: MAX_CHARS + 1].rsplit(" ", 1)[0] + "..."


def _money(value: Mapping[str, Any], wording: str) -> str:
    words = _MONEY_WORDS[wording]
    low, high = value.get("min"), value.get("max")
    if value.get("unknown") or (low is None and high is None):
        return words["unknown"]
    currency = value.get("currency") or "USD"
    low_text = _amount(low, currency, wording) if low is not None else ""
    high_text = _amount(high, currency, wording) if high is not None else ""
    if high is None:
        text = words["over"].format(low=low_text)
    elif low == high:
        text = low_text
    elif not low:
        text = words["up_to"].format(high=high_text)
    else:
        text = words["range"].format(low=low_text, high=high_text)
    return text + _PERIODS[wording].get(value.get("period") or "", "")


def _amount(number: float, currency: str, wording: str) -> str:
    digits = f"{number:,.0f}" if number == int(number) else f"{number:,.2f}"
    if wording == _PT:
        digits = digits.translate(str.maketrans(",.", ".,"))
    return _SYMBOLS[wording].get(currency, currency + " ") + digits


def _timeframe(label: str, wording: str) -> str:
    if label in _TIMEFRAMES[wording]:
        return _TIMEFRAMES[wording][label]
    if label in _MONTHS_EN:
        month = _MONTHS_EN.index(label)
        return f"em {_MONTHS_PT[month]}" if wording == _PT else f"in {label.capitalize()}"
    relative = _RELATIVE.match(label)
    if relative is None:
        return label
    count, unit = relative.groups()
    if wording == _PT:
        singular, plural = _UNITS_PT[unit]
        return f"em {count.replace('.', ',')} {singular if count == '1' else plural}"
    return f"in {label}"
