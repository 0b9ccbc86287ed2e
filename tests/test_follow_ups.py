"""The sweep's follow-ups and idle resets: nudges, limits, quiet hours, the window, and threads ended in the background."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import redis
from flask import Flask
from rq import Queue, SimpleWorker
from sqlalchemy import select

from sdr_agent import telemetry
from sdr_agent.config import ConfigError, Settings
from sdr_agent.extensions import db
from sdr_agent.models import ConversationThread, Lead, OutboxItem
from sdr_agent.outbound.delivery import deliver
from sdr_agent.outbound.quiet_hours import QuietHours
from sdr_agent.simulator import EXAMPLE_ACCOUNT_SID, WebhookClient
from sdr_agent.worker.dispatch import QUEUE_NAME
from sdr_agent.worker.follow_ups import queue_follow_ups
from tests.conftest import BACKEND_MATRIX, Clock, base_config
from tests.fake_twilio import FakeTwilio

PHONE = "+5511987650033"
ACCOUNT_SID = EXAMPLE_ACCOUNT_SID
SENDER = "whatsapp:+14155238886"
TEMPLATE = "HX" + "e" * 32
MID_FLOW = ("Oi", "sim", "Ana Souza")  # leaves the lead at the company question
NUDGE_PT = "Oi, Ana Souza! Ainda está por aí?"


@pytest.fixture
def app_config(database_url: str, redis_url: str | None) -> dict[str, str]:
    # Only an English follow-up template: pt-BR leads can be nudged inside the window only.
    return base_config(database_url, redis_url, TWILIO_WHATSAPP_FROM=SENDER, SDR_TEMPLATE_FOLLOW_UP_EN=TEMPLATE)


def write(app: Flask, *texts: str) -> None:
    webhooks = WebhookClient(app)
    for text in texts:
        webhooks.send_whatsapp(PHONE, text)


def sweep(app: Flask) -> dict[str, int]:
    return app.extensions["sdr_sweeper"].run()


def nudges(app: Flask) -> list[OutboxItem]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxItem).where(OutboxItem.purpose == "follow_up").order_by(OutboxItem.id)))


def the_lead(app: Flask) -> Lead:
    with app.app_context():
        return db.session.scalars(select(Lead).where(Lead.phone == PHONE)).one()


def company_question(app: Flask, language: str = "pt-BR") -> str:
    return app.extensions["sdr_flow"].question_stage("company").ask(language)


@BACKEND_MATRIX
def test_a_quiet_lead_is_nudged_once_the_delay_has_passed(outbound: Flask, fake_twilio: FakeTwilio,
                                                          clock: Clock) -> None:
    write(outbound, *MID_FLOW)
    clock.advance(hours=1, minutes=59)
    assert sweep(outbound)["follow_ups"] == 0
    clock.advance(minutes=2)
    assert sweep(outbound) == {"interrupted": 0, "idle_reset": 0, "follow_ups": 1, "delivered": 1}

    [form] = fake_twilio.sent()
    assert form["To"] == f"whatsapp:{PHONE}"
    assert form["Body"].startswith(NUDGE_PT)
    assert form["Body"].endswith(company_question(outbound))  # the open question follows the nudge
    [item] = nudges(outbound)
    assert (item.kind, item.status, item.payload["nudge"]) == ("whatsapp", "sent", 1)

    assert sweep(outbound)["follow_ups"] == 0  # a replayed sweep queues nothing new
    clock.advance(minutes=30)
    assert sweep(outbound)["follow_ups"] == 0
    assert len(nudges(outbound)) == 1 and len(fake_twilio.sent()) == 1


def test_a_second_nudge_comes_after_another_delay_and_then_no_more(outbound: Flask, fake_twilio: FakeTwilio,
                                                                   clock: Clock) -> None:
    write(outbound, *MID_FLOW)
    counts = []
    for _ in range(8):  # every hour for eight hours
        clock.advance(hours=1)
        counts.append(sweep(outbound)["follow_ups"])
    assert counts == [0, 1, 0, 1, 0, 0, 0, 0]
    items = nudges(outbound)
    assert [item.payload["nudge"] for item in items] == [1, 2]
    assert len({item.idempotency_key for item in items}) == 2
    assert len(fake_twilio.sent()) == 2


def test_the_count_starts_over_when_the_lead_writes_again(outbound: Flask, fake_twilio: FakeTwilio,
                                                          clock: Clock) -> None:
    write(outbound, *MID_FLOW)
    for _ in range(3):
        clock.advance(hours=2)
        sweep(outbound)
    assert len(nudges(outbound)) == 2
    write(outbound, "Acme")  # answers: now at the role question
    clock.advance(hours=2)
    assert sweep(outbound)["follow_ups"] == 1
    third = nudges(outbound)[-1]
    assert third.payload["nudge"] == 1 and third.status == "sent"
    assert fake_twilio.sent()[-1]["Body"].endswith(
        outbound.extensions["sdr_flow"].question_stage("role").ask("pt-BR"))


def test_no_nudge_at_night_in_the_leads_time_zone_it_waits_for_the_morning(outbound: Flask, fake_twilio: FakeTwilio,
                                                                           clock: Clock) -> None:
    clock.now = datetime(2026, 3, 2, 22, 0, tzinfo=timezone.utc)  # 19:00 in São Paulo
    write(outbound, *MID_FLOW)
    clock.advance(hours=4)  # 23:00 local: due, but quiet hours
    assert sweep(outbound)["follow_ups"] == 0
    clock.now = datetime(2026, 3, 3, 10, 59, tzinfo=timezone.utc)  # 07:59 local
    assert sweep(outbound)["follow_ups"] == 0
    clock.advance(minutes=2)  # 08:01 local
    assert sweep(outbound)["follow_ups"] == 1
    assert fake_twilio.sent()[0]["Body"].startswith(NUDGE_PT)


@pytest.mark.parametrize("script", [
    pytest.param((*MID_FLOW, "parar"), id="opted-out"),
    pytest.param((*MID_FLOW, "atendente"), id="handed-off"),
    pytest.param(("oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar a qualificação", "50 mil", "este mês",
                  "ana@acme.com.br"), id="qualified"),
    pytest.param(("oi", "não"), id="declined"),
])
def test_no_nudge_for_a_lead_who_opted_out_was_handed_off_or_finished(outbound: Flask, fake_twilio: FakeTwilio,
                                                                      clock: Clock, script: tuple[str, ...]) -> None:
    write(outbound, *script)
    for _ in range(3):
        clock.advance(hours=2)
        assert sweep(outbound)["follow_ups"] == 0
    assert nudges(outbound) == []
    assert fake_twilio.sent() == []


def test_a_nudge_is_rechecked_when_it_is_sent(outbound: Flask, fake_twilio: FakeTwilio, clock: Clock) -> None:
    write(outbound, *MID_FLOW)
    clock.advance(hours=2)
    services = outbound.extensions["sdr_outbound"]
    [first] = queue_follow_ups(services)
    write(outbound, "Acme")  # the lead answers before the worker gets to it
    assert deliver(services, first) == "skipped"
    clock.advance(hours=2)
    [second] = queue_follow_ups(services)
    write(outbound, "parar")
    assert deliver(services, second) == "skipped"
    assert [item.last_error for item in nudges(outbound)] == [
        "the lead wrote again after the follow-up was queued", "the lead opted out"]
    assert fake_twilio.sent() == []


def test_outside_the_window_without_a_template_nothing_is_queued(outbound: Flask, fake_twilio: FakeTwilio,
                                                                 clock: Clock) -> None:
    services = outbound.extensions["sdr_outbound"]
    services.settings = services.settings.replace(follow_up_after=timedelta(hours=25))
    write(outbound, *MID_FLOW)  # a pt-BR lead; the only follow-up template is English
    clock.advance(hours=25, minutes=1)
    assert sweep(outbound)["follow_ups"] == 0
    assert nudges(outbound) == []  # no row that delivery would only skip
    assert fake_twilio.requests == []


def test_outside_the_window_the_follow_up_template_is_sent(outbound: Flask, fake_twilio: FakeTwilio,
                                                           clock: Clock) -> None:
    services = outbound.extensions["sdr_outbound"]
    services.settings = services.settings.replace(follow_up_after=timedelta(hours=25))
    write(outbound, "Hello! I saw your ad and I would like to know more about your service.", "yes", "Ana Lima")
    clock.advance(hours=25, minutes=1)
    assert sweep(outbound)["follow_ups"] == 1
    [form] = fake_twilio.sent()
    assert "Body" not in form
    assert (form["ContentSid"], form["ContentVariables"]) == (TEMPLATE, '{"1": "Ana"}')


def test_follow_ups_can_be_turned_off(outbound: Flask, clock: Clock) -> None:
    services = outbound.extensions["sdr_outbound"]
    services.settings = services.settings.replace(follow_up_max=0)
    write(outbound, *MID_FLOW)
    clock.advance(hours=3)
    assert sweep(outbound)["follow_ups"] == 0


@BACKEND_MATRIX
def test_the_sweep_ends_an_idle_thread_and_the_next_message_is_welcomed_back(
    outbound: Flask, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    reported: list[tuple[str, float, str | None]] = []
    monkeypatch.setattr(telemetry, "thread_reset", lambda reason, age_s, stage, error=None, **_lead: reported.append(
        (reason, age_s, stage)))
    write(outbound, *MID_FLOW)
    clock.advance(hours=23)
    assert sweep(outbound)["idle_reset"] == 0
    clock.advance(hours=1, seconds=1)
    assert sweep(outbound)["idle_reset"] == 1
    assert sweep(outbound)["idle_reset"] == 0  # nothing left to reset

    lead = the_lead(outbound)
    assert lead.current_thread_id is None
    with outbound.app_context():
        [thread] = db.session.scalars(select(ConversationThread)).all()
    assert (thread.end_reason, thread.ended_at) == ("idle_timeout", clock.now)
    assert reported == [("idle_timeout", 24 * 3600 + 1, "company")]

    replies = WebhookClient(outbound).send_whatsapp(PHONE, "oi, voltei")
    flow = outbound.extensions["sdr_flow"]
    assert flow.text("welcome_back", "pt-BR", {"name": "Ana Souza"}) in replies
    assert company_question(outbound) in replies
    lead = the_lead(outbound)
    assert lead.current_thread_id is not None and lead.current_thread_id != thread.id
    assert reported == [("idle_timeout", 24 * 3600 + 1, "company")]  # the service does not report it twice


@pytest.mark.parametrize(("database_url", "redis_url"), [("postgresql", "redis"), ("sqlite", "redis")], indirect=True)
def test_the_sweep_job_on_a_real_rq_worker_nudges_once(outbound: Flask, fake_twilio: FakeTwilio, clock: Clock,
                                                       redis_url: str) -> None:
    write(outbound, *MID_FLOW)
    clock.advance(hours=2)
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    for _ in range(2):  # two sweeps racing on the queue
        queue.enqueue("sdr_agent.worker.jobs.sweep_job", False)
    SimpleWorker([queue], connection=connection).work(burst=True)
    connection.close()

    [form] = fake_twilio.sent()
    assert form["Body"].startswith(NUDGE_PT) and form["Body"].endswith(company_question(outbound))
    assert [item.status for item in nudges(outbound)] == ["sent"]


def test_quiet_hours_wrap_past_midnight() -> None:
    zone = ZoneInfo("America/Sao_Paulo")
    night = QuietHours(time(21, 0), time(8, 0))
    local = [datetime(2026, 3, 2, hour, minute, tzinfo=zone) for hour, minute in ((20, 59), (21, 0), (3, 0), (7, 59), (8, 0))]
    assert [night.contains(moment, zone) for moment in local] == [False, True, True, True, False]
    assert QuietHours(time(12, 0), time(14, 0)).contains(datetime(2026, 3, 2, 16, 0, tzinfo=timezone.utc), zone)


def test_follow_up_settings() -> None:
    settings = Settings.from_env({"SDR_FOLLOW_UP_AFTER_MINUTES": "90", "SDR_FOLLOW_UP_MAX": "0",
                                  "SDR_FOLLOW_UP_QUIET_HOURS": "off", "SDR_BOOKING_TIMEZONE": "Europe/Lisbon"})
    assert (settings.follow_up_after, settings.follow_up_max, settings.quiet_hours) == (timedelta(minutes=90), 0, None)
    assert settings.lead_timezone == ZoneInfo("Europe/Lisbon")
    assert Settings.from_env({"SDR_FOLLOW_UP_QUIET_HOURS": "22-7"}).quiet_hours == QuietHours(time(22), time(7))
    with pytest.raises(ConfigError, match="SDR_FOLLOW_UP_QUIET_HOURS"):
        Settings.from_env({"SDR_FOLLOW_UP_QUIET_HOURS": "late"})
    with pytest.raises(ConfigError, match="SDR_BOOKING_TIMEZONE"):
        Settings.from_env({"SDR_BOOKING_TIMEZONE": "Mars/Olympus"})
