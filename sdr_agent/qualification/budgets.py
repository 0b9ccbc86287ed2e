"""Budget amounts the way the rules compare them, and amounts too small to be what the lead meant."""
from __future__ import annotations

import re
from typing import Any, Mapping

from .textnorm import fold

MONTHS_PER_YEAR = 12
# Below this, with no "mil"/"k", a B2B budget is almost surely thousands said short ("uns 2 conto").
SHORT_THOUSANDS_BELOW = 100
_MULTIPLIER_WORD = re.compile(r"\d\s*(?:k|mil|mi|mm|m|thousand|grand|milhao|milhoes|million|millions|bi|bilhao|billion)\b")


def comparable_amount(value: Mapping[str, Any]) -> float | None:
    """The lower end of a budget as the flow's rules read it: per year when the lead gave it per month.

    The rules are written for the deal's size, so "R$ 5 mil por mês" meets ">= 10000" like the
    R$ 60 mil a year it is, and is never below a one-off threshold it clearly exceeds.
    """
    low = value.get("min")
    if not isinstance(low, (int, float)) or isinstance(low, bool):
        return None
    return float(low) * MONTHS_PER_YEAR if value.get("period") == "month" else float(low)


def meant_thousands(value: Mapping[str, Any], text: str) -> dict[str, Any] | None:
    """The budget in thousands when the lead wrote a bare small number ("2", "uns 2 conto"); else None."""
    low, high = value.get("min"), value.get("max")
    if value.get("unknown") or not isinstance(low, (int, float)) or not low or high is None:
        return None
    if high >= SHORT_THOUSANDS_BELOW or _MULTIPLIER_WORD.search(fold(text)):
        return None
    return {**value, "min": low * 1000, "max": high * 1000}
