"""Budgets: "R$ 20.000,00", "50 mil por mês", "10-20k", "US$ 5,000/month", "não sei" (unknown)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..textnorm import EMAIL_PATTERN, URL_PATTERN, fold, simplify
from .result import REJECTED, ParseResult, accepted
from .spoken_numbers import numerals

DEFAULT_CURRENCIES = {"pt": "BRL", "en": "USD"}
CURRENCIES = ("BRL", "USD", "EUR", "GBP")
MAX_AMOUNT = 1e12  # anything above is a typo or a phone number, not a budget

# Checked in order: "R$" and "US$" before the bare "$".
_CURRENCY_PATTERNS = (
    ("EUR", re.compile(r"€|\beur\b|\beuros?\b")),
    ("GBP", re.compile(r"£|\bgbp\b|\bpounds?(?: sterling)?\b|\bquid\b|\blibras?(?: esterlinas?)?\b")),
    ("USD", re.compile(r"us\$|u\$s|\busd\b|\bdolar(?:es)?\b|\bdollars?\b|\bbucks\b")),
    ("BRL", re.compile(r"r\$|\breais\b|\breal\b|\bbrl\b")),
    ("USD", re.compile(r"\$")),
)
_PERIODS = (
    ("month", re.compile(r"/\s*(?:mes|mo|month)\b|\b(?:por|ao|a|per) (?:mes|month)\b|\bmensa(?:l|is|lmente)\b|\bmonthly\b")),
    ("year", re.compile(
        r"/\s*(?:ano|yr|year)\b|\b(?:por|ao|per|a) (?:ano|year)\b|\banua(?:l|is|lmente)\b|\b(?:yearly|annual|annually)\b"
    )),
    ("once", re.compile(r"\b(?:unico|uma vez|one[- ]time|one[- ]off|once|pontual)\b")),
)
_MULTIPLIERS = {
    "k": 1e3, "mil": 1e3, "thousand": 1e3, "grand": 1e3,
    "m": 1e6, "mi": 1e6, "mm": 1e6, "milhao": 1e6, "milhoes": 1e6, "million": 1e6, "millions": 1e6,
    "bi": 1e9, "bilhao": 1e9, "bilhoes": 1e9, "billion": 1e9,
}
_MULTIPLIER = "|".join(sorted(_MULTIPLIERS, key=len, reverse=True))
# Counts of other things are not money: "3 meses", "50 funcionários", "20%".
_NOT_MONEY_UNITS = (
    r"mes(?:es)?\b|anos?\b|dias?\b|semanas?\b|horas?\b|months?\b|years?\b|days?\b|weeks?\b|hours?\b|pessoas\b"
    r"|funcionarios\b|colaboradores\b|employees\b|people\b|usuarios\b|users\b|licencas\b|licenses\b|seats\b"
    r"|%|por cento|percent"
)
_AMOUNT = re.compile(
    r"(?<!\d)(?<!\d[.,])"
    r"(?P<number>\d{1,3}(?:[.,]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d+)?)(?![.,]?\d)"
    rf"(?:\s*(?P<multiplier>{_MULTIPLIER})(?![a-z]))?"
    rf"(?!\s*(?:{_NOT_MONEY_UNITS}))"
)
# Before "mil", "milhão", "thousand"...: words `numerals` leaves alone, as they are mostly articles elsewhere.
_WORD_NUMBERS = {"um": "1", "uma": "1", "one": "1", "a": "1", "an": "1", "meio": "0.5", "half a": "0.5"}
_WORD_NUMBER = re.compile(rf"\b({'|'.join(sorted(_WORD_NUMBERS, key=len, reverse=True))})\s+(?=(?:{_MULTIPLIER})\b)")
_BARE_THOUSAND = re.compile(r"(?:^|(?<=[^\d\s])|(?<=[^\d]\s))mil\b")
_RANGE_JOINER = re.compile(r"^\s*(?:-|–|—|~|a|ate|e|to|and|ou|or)\s*$")
# "2 mil e 500", "2 thousand 500": the parts of one amount, not the ends of a range...
_COMPOUND_JOINER = re.compile(r"^\s*(?:(?:e|and)\s+)?$")
# ...unless the lead said it was a range.
_BETWEEN = re.compile(r"\b(?:entre|between)\s*$")
_CURRENCY_WORDS = re.compile(r"us\$|r\$|\$|€|£|\breais\b|\bdolares\b|\bdollars\b|\beuros\b|\bpounds\b")
_BELOW = re.compile(r"\b(?:menos de|abaixo de|inferior a|less than|under|below)\s*$")
_ABOVE = re.compile(r"\b(?:mais de|acima de|pelo menos|no minimo|a partir de|more than|over|above|at least|starting at)\s*$")
_UNKNOWN = re.compile(
    r"\b(?:nao sei|nao sabemos|sei la|nao faco ideia|sem ideia|a definir|nao (?:esta |foi )?definid[oa]|definindo"
    r"|nao definimos|depende|ainda vamos ver|prefiro nao (?:dizer|informar)|not sure|don t know|dont know|no idea"
    r"|tbd|to be defined|not defined|undecided|depends|rather not say|unsure|unknown"
    # No budget *yet* is not a budget of zero: it is still to be decided.
    r"|ainda nao (?:temos|tenho|ha|tem|definimos|sei|sabemos)|ainda sem|(?:sem|no) (?:orcamento|verba|budget) (?:ainda|yet)"
    r"|(?:orcamento|verba|budget) (?:ainda nao|not yet)|not yet|none yet|nothing yet|nada ainda|por enquanto nao)\b"
)
_NOTHING = re.compile(
    r"\b(?:sem orcamento|sem verba|nao (?:temos|tenho|ha) (?:orcamento|verba)|nenhum|zero|nada|no budget|nothing|none)\b"
)
_BUDGET_WORDS = re.compile(r"\b(?:orcamento|verba|investimento|investir|budget|spend|invest)\b")


@dataclass(frozen=True)
class _Amount:
    base: float  # the number as written, before "mil"/"k"
    multiplier: float
    start: int
    end: int

    @property
    def value(self) -> float:
        return self.base * self.multiplier


def parse(text: str, language: str, flow_currency: str | None = None) -> ParseResult:
    """{"min", "max", "currency", "period"}; "don't know" is accepted as {"unknown": True}."""
    folded = _prepared(text)
    amounts = _amounts(folded)
    if amounts:
        return _money(folded, amounts, language, flow_currency)
    simple = simplify(text)
    if _UNKNOWN.search(simple):
        return accepted({"min": None, "max": None, "currency": None, "period": None, "unknown": True})
    if _NOTHING.search(simple):
        currency = _currency(folded) or flow_currency or default_currency(language)
        return accepted({"min": 0.0, "max": 0.0, "currency": currency, "period": None})
    return REJECTED


def find(text: str, language: str, flow_currency: str | None = None) -> ParseResult:
    """A budget stated unmistakably inside a longer message: with a currency, or "mil"/"k" next to a budget word."""
    folded = _prepared(text)
    amounts = _amounts(folded)
    if not amounts:
        return REJECTED
    clear = _currency(folded) is not None or (
        any(amount.multiplier > 1 for amount in amounts) and (_BUDGET_WORDS.search(folded) or _period(folded))
    )
    return parse(text, language, flow_currency) if clear else REJECTED


def _prepared(text: str) -> str:
    """Folded text without e-mails/URLs, with number words turned into digits ("meio milhão" -> "0.5 milhao")."""
    folded = numerals(fold(URL_PATTERN.sub(" ", EMAIL_PATTERN.sub(" ", text))))
    folded = _WORD_NUMBER.sub(lambda match: _WORD_NUMBERS[match.group(1)] + " ", folded)
    return _BARE_THOUSAND.sub("1 mil", folded)


def _amounts(folded: str) -> list[_Amount]:
    amounts = []
    for match in _AMOUNT.finditer(folded):
        multiplier = _MULTIPLIERS[match.group("multiplier")] if match.group("multiplier") else 1.0
        amount = _Amount(_number(match.group("number")), multiplier, match.start(), match.end())
        if math.isfinite(amount.value) and amount.value <= MAX_AMOUNT:
            amounts.append(amount)
    return _compounded(folded, amounts)


def _compounded(folded: str, amounts: list[_Amount]) -> list[_Amount]:
    """Amounts with "2 mil e 500" read as 2500, as people say it."""
    result: list[_Amount] = []
    for amount in amounts:
        previous = result[-1] if result else None
        if (
            previous is not None
            and previous.multiplier > 1
            and amount.value < previous.multiplier
            and _COMPOUND_JOINER.match(folded[previous.end : amount.start])
            and not _BETWEEN.search(_CURRENCY_WORDS.sub(" ", folded[: previous.start]))
        ):
            base = (previous.value + amount.value) / previous.multiplier
            result[-1] = _Amount(base, previous.multiplier, previous.start, amount.end)
        else:
            result.append(amount)
    return result


def _number(raw: str) -> float:
    """Read "20.000,00", "5,000.50", "1,5", "2.5", "10.000": a last group of 1-2 digits is decimals."""
    parts = re.split(r"[.,]", raw)
    if len(parts) > 1 and len(parts[-1]) != 3:
        return float("".join(parts[:-1]) + "." + parts[-1])
    return float("".join(parts))


def _money(folded: str, amounts: list[_Amount], language: str, flow_currency: str | None) -> ParseResult:
    first = amounts[0]
    low: float | None = first.value
    high: float | None = first.value
    if len(amounts) > 1 and _is_range(folded[first.end : amounts[1].start]):
        second = amounts[1]
        start = first.value
        # "entre 10 e 20 mil": the multiplier belongs to both ends; "entre 500 e 2 mil" it does not.
        if first.multiplier == 1 and first.base < second.base:
            start = first.base * second.multiplier
        low, high = min(start, second.value), max(start, second.value)
    else:
        before = _CURRENCY_WORDS.sub(" ", folded[: first.start])  # "menos de R$ 1.000"
        if _BELOW.search(before):
            low = 0.0
        elif _ABOVE.search(before):
            high = None
        # "até 20 mil" (a ceiling) is read as the budget itself.
    currency = _currency(folded) or flow_currency or default_currency(language)
    return accepted({"min": _rounded(low), "max": _rounded(high), "currency": currency, "period": _period(folded)})


def _is_range(between: str) -> bool:
    return bool(_RANGE_JOINER.match(_CURRENCY_WORDS.sub(" ", between)))


def _currency(folded: str) -> str | None:
    return next((code for code, pattern in _CURRENCY_PATTERNS if pattern.search(folded)), None)


def _period(folded: str) -> str | None:
    return next((period for period, pattern in _PERIODS if pattern.search(folded)), None)


def default_currency(language: str) -> str:
    """BRL for Portuguese, USD otherwise, when neither the lead nor the flow names a currency."""
    return DEFAULT_CURRENCIES.get(language.split("-")[0].lower(), "USD")


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
