"""Logs at INFO and above never carry a lead's phone number, e-mail, name or words, nor a secret."""
from __future__ import annotations

import logging
from typing import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from sdr_agent import telemetry
from sdr_agent.simulator import WebhookClient, whatsapp_form
from tests.admin.conftest import csrf_token
from tests.conftest import AUTH_TOKEN, Clock, base_config, finish_background_work, signed_post
from tests.fake_twilio import FakeTwilio
from tests.http_recorder import HttpRecorder
from tests.sentry_fixtures import sentry_sink, spellings  # noqa: F401 - pytest fixture
from tests.sentry_sink import SentrySink

PHONE = "+5511987651234"
CONVERSATION = ["Olá, quero saber mais", "sim", "Mariana Figueiredo", "Quasar Robotics", "2",
                "Precisamos organizar o funil comercial", "80 mil", "próximo trimestre", "mariana@quasar-robotics.com.br",
                "recomeçar", "PARAR", "VOLTAR"]


def test_a_whole_conversation_logs_no_personal_data(
    send: Callable[..., TestResponse], clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for text in CONVERSATION:
        assert send(PHONE, text).status_code == 200
        clock.advance(hours=30)  # every message after an idle gap: thread resets get logged too
    logged = "\n".join(record.getMessage() + " " + str(record.__dict__) for record in caplog.records)
    assert caplog.records, "the conversation should have logged something to scan"
    for secret in [PHONE, PHONE.lstrip("+"), "987651234", "Mariana", "Figueiredo", "mariana@", "Quasar", "funil comercial", "80 mil"]:
        assert secret not in logged


LEAD_PHONE = "+5521976543210"
OTHER_PHONE = "+5531965432109"
SECRETS = {
    "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    "SECRET_KEY": "log-scan-flask-secret-key-5f2c9a1e",
    "ADMIN_PASSWORD": "log-scan-admin-password-77d1",
    "PHONE_HASH_SECRET": "log-scan-phone-hash-secret-31b4",
    "SDR_WEBHOOK_SECRET": "log-scan-webhook-secret-48e0",
}
DSN_KEY = "c0ffee0123456789abcdef0123456789"
PERSONAL = [LEAD_PHONE, OTHER_PHONE, "Mariana", "Figueiredo", "Quasar", "funil comercial", "oitenta mil",
            "mariana@quasar", "quasar-robotics", "Rodrigo", "Tavares", "Rodi 🚀"]


@pytest.fixture
def app_config(database_url: str, redis_url: str | None, receiver: HttpRecorder, sentry_sink: SentrySink) -> dict[str, str]:
    """Every secret set to a value the scan can look for; Sentry, webhooks and outbound WhatsApp on."""
    telemetry.shutdown_telemetry()
    return base_config(database_url, redis_url, **SECRETS,
                       SENTRY_DSN=f"http://{DSN_KEY}@127.0.0.1:{sentry_sink.port}/1",
                       SDR_HANDOFF_WEBHOOK_URL=f"{receiver.url}/handoff", SDR_CRM_WEBHOOK_URL=f"{receiver.url}/crm")


def logged_text(records: list[logging.LogRecord]) -> str:
    """Everything a log handler could write: message, arguments, extras, tracebacks."""
    lines = []
    for record in records:
        lines.append(record.getMessage() + " " + str(record.__dict__))
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


def test_calls_chats_deliveries_and_dashboard_log_no_personal_data_or_secret(
    app: Flask, outbound: Flask, fake_twilio: FakeTwilio, client: FlaskClient, receiver: HttpRecorder,
    sentry_sink: SentrySink, caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    webhooks = WebhookClient(app)
    try:
        webhooks.send_whatsapp(LEAD_PHONE, "Oi")  # inside WhatsApp's 24-hour window, so free text can follow
        call = webhooks.call(LEAD_PHONE)
        call.start()
        for speech in ("sim", "Mariana Figueiredo", "Quasar Robotics", "opção dois",
                       "precisamos organizar o funil comercial", "oitenta mil reais", "próximo trimestre"):
            call.say(speech)
        assert call.ended  # the e-mail moves to WhatsApp: a queued message the worker delivers
        call.hang_up()
        webhooks.send_whatsapp(LEAD_PHONE, "mariana@quasar-robotics.com.br")  # qualified: a CRM webhook
        for text in ("Oi", "sim", "Rodrigo Tavares", "quero falar com um atendente"):  # a handoff webhook
            assert signed_post(client, "/twilio/whatsapp",
                               whatsapp_form(OTHER_PHONE, text, profile_name="Rodi 🚀")).status_code == 200
        finish_background_work(app)

        token = csrf_token(client)
        assert client.post("/admin/login", data={"password": "wrong " + SECRETS["ADMIN_PASSWORD"],
                                                 "csrf_token": token}).status_code == 401
        assert client.post("/admin/login", data={"password": SECRETS["ADMIN_PASSWORD"],
                                                 "csrf_token": token}).status_code == 303
        assert client.get("/admin/leads?q=Mariana").status_code == 200
        assert client.get("/admin/leads/1").status_code == 200
        telemetry.flush_telemetry()
    finally:
        telemetry.shutdown_telemetry()

    # What the scan covers really happened: deliveries, signed webhooks, Sentry envelopes.
    assert {request.path for request in receiver.requests} == {"/crm", "/handoff"}
    assert len(fake_twilio.sent()) >= 1  # the e-mail request the call deferred to WhatsApp
    assert sentry_sink.request_count > 0
    assert any(record.name.startswith("sdr_agent.outbound") for record in caplog.records)
    logged = logged_text(caplog.records)
    for value in PERSONAL:
        for spelling in spellings(value):
            assert spelling not in logged, (value, spelling)
    for name, value in {**SECRETS, "SENTRY_DSN key": DSN_KEY}.items():
        assert value not in logged, name
