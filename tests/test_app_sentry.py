"""The app starts Sentry from SENTRY_DSN: webhook requests arrive as transactions, with no personal data."""
from __future__ import annotations

from typing import Iterator

import pytest

from sdr_agent import create_app, telemetry
from sdr_agent.extensions import db
from sdr_agent.simulator import whatsapp_form
from tests.conftest import base_config, signed_post
from tests.sentry_fixtures import sentry_dsn, sentry_sink  # noqa: F401
from tests.sentry_sink import SentrySink

PHONE = "+5511966661234"


@pytest.fixture
def fresh_telemetry() -> Iterator[None]:
    telemetry.shutdown_telemetry()
    yield
    telemetry.shutdown_telemetry()


def test_webhook_request_is_traced_without_personal_data(
    fresh_telemetry: None, sentry_sink: SentrySink, sentry_dsn: str, database_url: str  # noqa: F811
) -> None:
    app = create_app(base_config(database_url, None, SENTRY_DSN=sentry_dsn))
    with app.app_context():
        db.create_all()
    client = app.test_client()
    body = "Oi, sou a Beatriz Albuquerque da Zentrix, beatriz@zentrix.com.br"
    assert signed_post(client, "/twilio/whatsapp", whatsapp_form(PHONE, body, profile_name="Beatriz")).status_code == 200
    assert client.get("/healthz").status_code == 200
    telemetry.flush_telemetry()

    assert sentry_sink.wait_for(lambda: sentry_sink.transactions())
    names = [transaction.get("transaction") for transaction in sentry_sink.transactions()]
    assert any("whatsapp" in (name or "") for name in names)
    assert not any("healthz" in (name or "") for name in names)
    raw = sentry_sink.raw_bytes()
    for secret in [PHONE, PHONE.lstrip("+"), "Beatriz", "Albuquerque", "Zentrix", "beatriz@", "zentrix.com.br"]:
        assert secret.encode() not in raw
