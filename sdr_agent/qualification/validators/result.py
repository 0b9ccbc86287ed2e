"""The outcome of parsing one answer."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ParseResult:
    """`ok` with a JSON-serialisable `value`, or not ok (value None)."""

    ok: bool
    value: Any = None


REJECTED = ParseResult(False)


def accepted(value: Any) -> ParseResult:
    """A successful parse holding `value`."""
    return ParseResult(True, value)
