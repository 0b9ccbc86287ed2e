"""Collects each reliability scenario's one-line figures and prints them at the end of the run."""
from __future__ import annotations

from typing import Any

import pytest

FIGURES: list[str] = []


@pytest.fixture
def chaos_figures() -> list[str]:
    """Append a scenario's summary line here; it is printed in the terminal summary."""
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the figures of every reliability scenario that ran."""
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)
