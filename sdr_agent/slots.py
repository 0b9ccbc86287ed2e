"""Project the engine's structured slot values onto the lead's searchable columns."""
from __future__ import annotations

from typing import Any, Mapping

# Slot name -> (text column, column limit). Money and timeframe also fill a numeric column.
TEXT_COLUMNS = {
    "name": ("name", 120),
    "company": ("company", 120),
    "role": ("role", 60),
    "need": ("need", 4000),
    "budget": ("budget", 120),
    "timeline": ("timeline", 120),
    "email": ("email", 254),
}


def project_slots(slots: Mapping[str, Any]) -> dict[str, Any]:
    """Column values for the slots the engine knows; missing slots become None."""
    columns: dict[str, Any] = {}
    for slot, (column, limit) in TEXT_COLUMNS.items():
        value = slots.get(slot)
        text = describe(value)
        columns[column] = text[:limit] if text is not None else None
    budget = slots.get("budget")
    columns["budget_amount"] = _number(budget, "min")
    columns["timeline_months"] = _number(slots.get("timeline"), "months")
    return columns


def describe(value: Any) -> str | None:
    """A short human-readable text for one slot value."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        if "not_given" in value:
            return None  # declined or unreadable: the column stays empty, the state says why
        if "label" in value:
            return str(value["label"])
        if "min" in value or "max" in value:
            return _describe_money(value)
    return str(value)


def _describe_money(value: Mapping[str, Any]) -> str:
    low, high = value.get("min"), value.get("max")
    if low is None and high is None:
        return "unknown"
    amount = f"{low:,.0f}" if low == high or high is None else f"{low or 0:,.0f}-{high:,.0f}"
    period = value.get("period")
    suffix = f"/{period}" if period in ("month", "year") else ""
    return f"{value.get('currency') or ''} {amount}{suffix}".strip()


def _number(value: Any, key: str) -> float | None:
    if isinstance(value, Mapping) and isinstance(value.get(key), (int, float)):
        return float(value[key])
    return None
