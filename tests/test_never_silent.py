"""Never silent: a handed-off lead is acknowledged and queued for the team; chat spellings of yes at consent."""
from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sdr_agent import create_app
from sdr_agent.qualification import Flow
from sdr_agent.simulator import WebhookClient
from tests.admin.conftest import ADMIN_PASSWORD, log_in
from tests.conftest import BOTH_DATABASES, Clock, base_config, close_app
from tests.dbcheck import lead_by_phone

BR_PHONE = "+5511987650401"
US_PHONE = "+14155550401"


@pytest.fixture
def app_config(database_url: str, redis_url: str | None) -> dict[str, str]:
    """The usual test environment (no hand-off webhook) plus a dashboard password."""
    return base_config(database_url, redis_url, ADMIN_PASSWORD=ADMIN_PASSWORD)


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "language", "opening", "ask", "later"), [
    (BR_PHONE, "pt-BR", "oi", "quero falar com um atendente", ["alô?", "tem alguém aí?", "e aí?"]),
    (US_PHONE, "en", "Hello, I would like to know more about your service", "talk to a person",
     ["hello?", "how long will it take?", "anyone?"]),
])
def test_a_handed_off_lead_is_acknowledged_once_per_interval(app: Flask, webhooks: WebhookClient, flow: Flow,
                                                             clock: Clock, phone: str, language: str, opening: str,
                                                             ask: str, later: list[str]) -> None:
    webhooks.send_whatsapp(phone, opening)
    assert webhooks.send_whatsapp(phone, ask) == [flow.text("handoff", language)]
    waiting = [flow.text("handoff_waiting", language)]
    clock.advance(minutes=1)
    assert webhooks.send_whatsapp(phone, later[0]) == waiting
    clock.advance(minutes=1)
    assert webhooks.send_whatsapp(phone, later[1]) == []  # within the interval: no second acknowledgement
    clock.advance(minutes=20)
    assert webhooks.send_whatsapp(phone, later[2]) == waiting
    assert lead_by_phone(app, phone).stage == "handoff"


@BOTH_DATABASES
def test_a_handed_off_caller_is_not_met_with_silence(app: Flask, webhooks: WebhookClient, flow: Flow) -> None:
    webhooks.send_whatsapp(BR_PHONE, "oi")
    webhooks.send_whatsapp(BR_PHONE, "quero falar com um atendente")
    call = webhooks.call(BR_PHONE)
    assert " ".join(call.start()) == flow.text("handoff_waiting", "pt-BR", voice=True)
    assert call.ended


@BOTH_DATABASES
def test_the_dashboard_queues_leads_waiting_for_a_person(app: Flask, webhooks: WebhookClient, client: FlaskClient,
                                                         clock: Clock) -> None:
    webhooks.send_whatsapp(BR_PHONE, "oi")
    webhooks.send_whatsapp(BR_PHONE, "quero falar com um atendente")
    webhooks.send_whatsapp(US_PHONE, "Hello, I would like to know more about your service")
    webhooks.send_whatsapp(US_PHONE, "talk to a person")
    clock.advance(minutes=3)
    webhooks.send_whatsapp(BR_PHONE, "alô?")
    assert log_in(client).status_code == 303
    page = client.get("/admin").get_data(as_text=True)
    queue = page.split('id="handoff-queue"', 1)[1].split("</table>", 1)[0]
    waiting, handed_off = lead_by_phone(app, BR_PHONE).id, lead_by_phone(app, US_PHONE).id
    assert queue.index(f'data-lead="{waiting}"') < queue.index(f'data-lead="{handed_off}"')
    rows = {row.split('"', 1)[0]: row for row in queue.split('data-lead="')[1:]}
    assert "wrote since the hand-off" in rows[str(waiting)]
    assert "wrote since the hand-off" not in rows[str(handed_off)]
    assert 'id="no-handoff-webhook"' in page  # the tests' app has no hand-off webhook


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_warning_at_start_when_hand_offs_reach_no_one(database_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="sdr_agent"):
        apps = [create_app(base_config(database_url, None)),
                create_app(base_config(database_url, None, SDR_HANDOFF_WEBHOOK_URL="http://127.0.0.1:9/h",
                                       SDR_WEBHOOK_SECRET="s"))]
    for started in apps:
        close_app(started)
    warnings = [record for record in caplog.records if "SDR_HANDOFF_WEBHOOK_URL" in record.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "opening", "yes"), [
    (BR_PHONE, "oi", "simmm"), (BR_PHONE, "oi", "ss"), (BR_PHONE, "oi", "claro"), (BR_PHONE, "oi", "bora"),
    (BR_PHONE, "oi", "Siiim!!"),
    (US_PHONE, "Hello, I would like to know more about your service", "yep"),
    (US_PHONE, "Hello, I would like to know more about your service", "yesss"),
])
def test_chat_spellings_of_yes_are_consent(app: Flask, webhooks: WebhookClient, phone: str, opening: str,
                                           yes: str) -> None:
    webhooks.send_whatsapp(phone, opening)
    webhooks.send_whatsapp(phone, yes)  # a yes, never an unclear answer on the way to a hand-off
    lead = lead_by_phone(app, phone)
    assert lead.stage == "name" and lead.handed_off is False
