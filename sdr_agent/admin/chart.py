"""Geometry of the funnel chart; the template draws it as inline SVG (no script, no network)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .funnel import FunnelStep

LABEL_WIDTH = 110
VALUE_WIDTH = 150
ROW_HEIGHT = 30
BAR_HEIGHT = 22


@dataclass(frozen=True)
class Bar:
    """One funnel step drawn as a centred horizontal bar."""

    label: str
    value: int
    note: str
    x: float
    y: float
    width: float


@dataclass(frozen=True)
class FunnelChart:
    """Everything the SVG needs."""

    width: int
    height: int
    label_width: int
    bar_height: int
    bars: Sequence[Bar]


def funnel_chart(steps: Sequence[FunnelStep], width: int = 720) -> FunnelChart:
    """Bars whose widths are proportional to the leads entering each step."""
    area = width - LABEL_WIDTH - VALUE_WIDTH
    largest = max((step.entered for step in steps), default=0)
    bars = []
    for index, step in enumerate(steps):
        # A step nobody reached still gets a sliver, so the chart keeps its shape.
        bar_width = max(2.0, area * step.entered / largest) if largest else 2.0
        drop = step.drop_off_pct
        note = f"{step.entered}" + (f" · −{drop:.0f}%" if drop is not None else "")
        bars.append(Bar(step.stage, step.entered, note, LABEL_WIDTH + (area - bar_width) / 2, index * ROW_HEIGHT + 4, bar_width))
    return FunnelChart(width, len(steps) * ROW_HEIGHT + 8, LABEL_WIDTH, BAR_HEIGHT, bars)
