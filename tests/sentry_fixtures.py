"""Pytest fixtures for tests that send telemetry to a local Sentry stand-in."""
from __future__ import annotations

import json
from typing import Iterator
from urllib.parse import quote, quote_plus

import pytest
import sentry_sdk

from sdr_agent import telemetry
from tests.sentry_sink import SentrySink


@pytest.fixture
def clean_sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Telemetry off before and after the test, with no client, scope data or Sentry env left behind."""
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    monkeypatch.delenv("SENTRY_SPOTLIGHT", raising=False)
    telemetry.shutdown_telemetry()
    yield
    telemetry.shutdown_telemetry()
    sentry_sdk.get_isolation_scope().clear()
    sentry_sdk.get_current_scope().clear()


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


def spellings(value: str) -> set[str]:
    """The ways a value could show up in a payload."""
    digits = "".join(ch for ch in value if ch.isdigit())
    forms = {value, value.lower(), quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1],
             json.dumps(value, ensure_ascii=False)[1:-1], f"whatsapp:{value}", quote(f"whatsapp:{value}", safe="")}
    if len(digits) >= 8:
        forms.update({digits, digits[2:], digits[-9:]})
    return forms
