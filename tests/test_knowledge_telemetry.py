"""A lead's questions reach Sentry as a count per stage, answered or noted, and never as text."""
from __future__ import annotations

from flask import Flask

from sdr_agent.extensions import db
from sdr_agent.simulator import WebhookClient
from tests.conftest import finish_background_work
from tests.sentry_fixtures import sentry_dsn, sentry_sink, spellings  # noqa: F401 - pytest fixtures
from tests.sentry_sink import SentrySink
from tests.test_sentry_conversations import assert_nothing_personal, attribute, delivered, traced_app, traced_config  # noqa: F401

PHONE = "+5511976540022"
ANSWERED = "vcs integram com hubspot?"
NOTED = "vocês têm escritório em Portugal?"


def test_each_question_is_a_metric_with_its_stage_and_result_and_no_text(
    traced_config: dict[str, str], sentry_sink: SentrySink  # noqa: F811
) -> None:
    app: Flask = traced_app(traced_config)
    webhooks = WebhookClient(app)
    for text in ["oi", "sim", ANSWERED, "Ana Souza", NOTED]:
        webhooks.send_whatsapp(PHONE, text)

    def questions() -> list[dict]:
        return [m for m in sentry_sink.metrics() if m["name"] == "sdr.question.asked"]

    delivered(sentry_sink, lambda: len(questions()) == 2)
    found = sorted((attribute(m, "stage"), attribute(m, "result"), attribute(m, "channel")) for m in questions())
    assert found == [("company", "noted", "whatsapp"), ("name", "answered", "whatsapp")]
    assert_nothing_personal(sentry_sink, PHONE, ANSWERED, NOTED, "Portugal", "hubspot")
    finish_background_work(app)
    with app.app_context():
        db.engine.dispose()
