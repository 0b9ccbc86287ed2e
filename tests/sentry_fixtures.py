"""Pytest fixtures for tests that send telemetry to a local Sentry stand-in."""
from __future__ import annotations

from typing import Iterator

import pytest

from tests.sentry_sink import SentrySink


@pytest.fixture
def sentry_sink() -> Iterator[SentrySink]:
    """A running sink; stopped after the test."""
    sink = SentrySink().start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
def sentry_dsn(sentry_sink: SentrySink) -> str:
    """A DSN pointing at `sentry_sink` (project 1)."""
    return sentry_sink.dsn()
