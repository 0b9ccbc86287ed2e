"""Comparison rules written in the flow file: ">= 10000", "<= 1", "== student"."""
from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_RULE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


@dataclass(frozen=True)
class Comparison:
    """`value <op> operand`; numeric operands only match numbers, word operands only match equal words."""

    op: str
    operand: float | str
    text: str  # canonical form, used in score reasons: ">= 10000"

    def matches(self, value: Any) -> bool:
        """Whether a slot value (a number, an option id, or None) satisfies the rule."""
        if isinstance(self.operand, float):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False  # unknown ("não sei") never scores and never disqualifies
        elif not isinstance(value, str):
            return False  # an unanswered or unverified choice matches no option rule
        return _OPERATORS[self.op](value, self.operand)


def parse_comparison(text: Any, numeric: bool) -> Comparison:
    """Parse a rule; raises ValueError naming what is wrong with it."""
    match = _RULE.match(str(text)) if isinstance(text, (str, int, float)) else None
    if not match:
        raise ValueError(f"rule {text!r} should look like '>= 10000' (operators: {', '.join(_OPERATORS)})")
    op, raw = match.groups()
    if numeric:
        if not _NUMBER.match(raw):
            raise ValueError(f"rule {text!r} needs a number after {op!r}")
        return Comparison(op, float(raw), f"{op} {raw}")
    if op not in ("==", "!="):
        raise ValueError(f"rule {text!r} on a choice can only use == or !=")
    return Comparison(op, raw, f"{op} {raw}")
