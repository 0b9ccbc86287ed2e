"""Outbound WhatsApp against a local fake of Twilio's REST API: the window, templates, opt-out, retries, exactly once."""
from __future__ import annotations

import time
from datetime import timedelta

import pytest
import redis
from flask import Flask
from rq import Queue, SimpleWorker
from sqlalchemy import select

from sdr_agent import create_app
from sdr_agent.extensions import db
from sdr_agent.models import Lead, Message, OutboxItem
from sdr_agent.outbound.delivery import deliver
from sdr_agent.outbound.outbox import WHATSAPP, add_outbox_item
from sdr_agent.simulator import EXAMPLE_ACCOUNT_SID, WebhookClient
from sdr_agent.worker.dispatch import QUEUE_NAME
from tests.conftest import BACKEND_MATRIX, Clock, base_config
from tests.fake_twilio import FakeTwilio, use_fake_twilio

PHONE = "+5511987650011"
ACCOUNT_SID = EXAMPLE_ACCOUNT_SID
SENDER = "whatsapp:+14155238886"
TEMPLATE = "HX" + "f" * 32


@pytest.fixture
def app_config(database_url: str, redis_url: str | None) -> dict[str, str]:
    return base_config(database_url, redis_url, TWILIO_WHATSAPP_FROM=SENDER, PUBLIC_BASE_URL="https://sdr.example.com",
                       SDR_TEMPLATE_FOLLOW_UP_EN=TEMPLATE, SDR_TEMPLATE_EMAIL_REQUEST_PT_BR=TEMPLATE)


def lead_id(app: Flask, phone: str = PHONE) -> int:
    with app.app_context():
        return db.session.scalar(select(Lead.id).where(Lead.phone == phone))


def queue_send(app: Flask, clock: Clock, purpose: str = "follow_up", key: str = "k1", **payload: object) -> int:
    with app.extensions["sdr_session_factory"].begin() as session:
        item_id = add_outbox_item(session, lead_id=lead_id(app), kind=WHATSAPP, purpose=purpose, key=key,
                                  payload=payload, now=clock.now)
    assert item_id is not None
    return item_id


def item(app: Flask, item_id: int) -> OutboxItem:
    with app.app_context():
        return db.session.get(OutboxItem, item_id)


@BACKEND_MATRIX
def test_inside_the_window_free_text_is_sent_with_a_status_callback(outbound: Flask, fake_twilio: FakeTwilio,
                                                                     clock: Clock) -> None:
    WebhookClient(outbound).send_whatsapp(PHONE, "oi")
    clock.advance(hours=23)
    item_id = queue_send(outbound, clock, text="Ainda está por aí?")
    assert deliver(outbound.extensions["sdr_outbound"], item_id) == "sent"

    [form] = fake_twilio.sent()
    assert form == {"To": f"whatsapp:{PHONE}", "From": SENDER, "Body": "Ainda está por aí?",
                    "StatusCallback": "https://sdr.example.com/twilio/status"}
    stored = item(outbound, item_id)
    assert stored.status == "sent" and stored.attempts == 1 and len(stored.provider_sids) == 1
    with outbound.app_context():
        message = db.session.scalars(select(Message).where(Message.provider_sid == stored.provider_sids[0])).one()
        assert (message.direction, message.text, message.status) == ("outbound", "Ainda está por aí?", "queued")


def test_outside_the_window_only_the_approved_template_is_sent(outbound: Flask, fake_twilio: FakeTwilio,
                                                                clock: Clock) -> None:
    webhooks = WebhookClient(outbound)
    for text in ("Hello! I saw your ad and I would like to know more about your service.", "yes", "Ana Lima"):
        webhooks.send_whatsapp(PHONE, text)
    clock.advance(hours=25)
    item_id = queue_send(outbound, clock, text="Are you still there?")
    assert deliver(outbound.extensions["sdr_outbound"], item_id) == "sent", item(outbound, item_id).last_error

    [form] = fake_twilio.sent()
    assert "Body" not in form
    assert form["ContentSid"] == TEMPLATE
    assert form["ContentVariables"] == '{"1": "Ana"}'


def test_outside_the_window_without_a_template_nothing_is_attempted(outbound: Flask, fake_twilio: FakeTwilio,
                                                                     clock: Clock) -> None:
    WebhookClient(outbound).send_whatsapp(PHONE, "oi")  # a pt-BR lead; only an English follow-up template exists
    clock.advance(hours=24, seconds=1)
    item_id = queue_send(outbound, clock)
    assert deliver(outbound.extensions["sdr_outbound"], item_id) == "skipped"
    assert fake_twilio.requests == []
    assert "no follow_up template for pt-BR" in item(outbound, item_id).last_error


def test_an_opted_out_lead_is_never_sent_anything(outbound: Flask, fake_twilio: FakeTwilio, clock: Clock) -> None:
    webhooks = WebhookClient(outbound)
    webhooks.send_whatsapp(PHONE, "oi")
    webhooks.send_whatsapp(PHONE, "parar")
    item_id = queue_send(outbound, clock, text="Oi?")
    assert deliver(outbound.extensions["sdr_outbound"], item_id) == "skipped"
    assert fake_twilio.requests == []
    assert item(outbound, item_id).last_error == "the lead opted out"


def test_a_repeated_delivery_sends_once(outbound: Flask, fake_twilio: FakeTwilio, clock: Clock) -> None:
    WebhookClient(outbound).send_whatsapp(PHONE, "oi")
    item_id = queue_send(outbound, clock, text="Oi?")
    services = outbound.extensions["sdr_outbound"]
    assert [deliver(services, item_id) for _ in range(3)] == ["sent", "not due", "not due"]
    assert len(fake_twilio.sent()) == 1
    with outbound.extensions["sdr_session_factory"].begin() as session:
        again = add_outbox_item(session, lead_id=lead_id(outbound), kind=WHATSAPP, purpose="follow_up", key="k1",
                                payload={"text": "Oi?"}, now=clock.now)
    assert again is None  # the same logical send asked for twice is one item


def test_429_then_success_is_retried_after_the_backoff(outbound: Flask, fake_twilio: FakeTwilio, clock: Clock) -> None:
    WebhookClient(outbound).send_whatsapp(PHONE, "oi")
    item_id = queue_send(outbound, clock, text="Oi?")
    services = outbound.extensions["sdr_outbound"]
    fake_twilio.then(429)
    assert deliver(services, item_id) == "pending"
    waiting = item(outbound, item_id)
    assert (waiting.attempts, waiting.last_error) == (1, "twilio 429")
    assert waiting.next_attempt_at == clock.now + timedelta(seconds=30)
    assert deliver(services, item_id) == "not due"
    clock.advance(seconds=31)
    assert outbound.extensions["sdr_sweeper"].run() == {"interrupted": 0, "idle_reset": 0, "follow_ups": 0, "delivered": 1}
    assert item(outbound, item_id).status == "sent"
    assert len(fake_twilio.requests) == 2 and len(fake_twilio.sent()) == 1


def test_a_timeout_after_twilio_accepted_the_message_never_sends_it_twice(outbound: Flask, fake_twilio: FakeTwilio,
                                                                         clock: Clock) -> None:
    WebhookClient(outbound).send_whatsapp(PHONE, "oi")
    item_id = queue_send(outbound, clock, text="Oi?")
    services = outbound.extensions["sdr_outbound"]
    fake_twilio.then(201, delay_s=1.5)  # accepted, but answered after the client's 0.5 s timeout
    assert deliver(services, item_id) == "failed"
    assert item(outbound, item_id).last_error == "outcome unknown after ReadTimeout: not resent"
    clock.advance(minutes=15)  # past every backoff and the sweep's recovery of items stuck in `sending`
    assert deliver(services, item_id) == "not due"
    assert outbound.extensions["sdr_sweeper"].run()["delivered"] == 0
    assert item(outbound, item_id).status == "failed"
    deadline = time.monotonic() + 5
    while fake_twilio.requests[0].status == 0 and time.monotonic() < deadline:
        time.sleep(0.05)  # the fake answers (and records its 201) after its delay
    assert len(fake_twilio.requests) == 1 and len(fake_twilio.sent()) == 1


def test_a_connection_twilio_never_took_is_retried(outbound: Flask, fake_twilio: FakeTwilio, clock: Clock) -> None:
    WebhookClient(outbound).send_whatsapp(PHONE, "oi")
    item_id = queue_send(outbound, clock, text="Oi?")
    services = outbound.extensions["sdr_outbound"]
    nobody = FakeTwilio(fake_twilio.account_sid, fake_twilio.auth_token).start()  # then closed: a refused port
    nobody.stop()
    use_fake_twilio(outbound, nobody)
    assert deliver(services, item_id) == "pending"
    assert item(outbound, item_id).last_error == "ConnectionError"
    use_fake_twilio(outbound, fake_twilio)
    clock.advance(minutes=5)
    assert deliver(services, item_id) == "sent"
    assert len(fake_twilio.sent()) == 1


def test_giving_up_after_the_attempt_limit_is_recorded(outbound: Flask, fake_twilio: FakeTwilio, clock: Clock) -> None:
    WebhookClient(outbound).send_whatsapp(PHONE, "oi")
    item_id = queue_send(outbound, clock, text="Oi?")
    services = outbound.extensions["sdr_outbound"]
    for _ in range(5):
        fake_twilio.then(503)
    statuses = []
    for _ in range(5):
        statuses.append(deliver(services, item_id))
        clock.advance(hours=1)
    assert statuses == ["pending"] * 4 + ["failed"]
    assert item(outbound, item_id).last_error == "gave up after 5 attempts: twilio 503"
    assert fake_twilio.sent() == []


def test_a_permanent_error_is_not_retried(outbound: Flask, fake_twilio: FakeTwilio, clock: Clock) -> None:
    WebhookClient(outbound).send_whatsapp(PHONE, "oi")
    item_id = queue_send(outbound, clock, text="Oi?")
    fake_twilio.then(400)
    assert deliver(outbound.extensions["sdr_outbound"], item_id) == "failed"
    assert item(outbound, item_id).last_error.startswith("twilio 400")


def test_a_long_text_goes_in_parts_and_a_retry_sends_only_the_missing_ones(outbound: Flask, fake_twilio: FakeTwilio,
                                                                           clock: Clock) -> None:
    WebhookClient(outbound).send_whatsapp(PHONE, "oi")
    long_text = " ".join(f"palavra{i}" for i in range(400))  # about 3,600 characters: three parts
    item_id = queue_send(outbound, clock, text=long_text)
    services = outbound.extensions["sdr_outbound"]
    fake_twilio.then(201).then(500)  # part 1 accepted, part 2 refused for now
    assert deliver(services, item_id) == "pending"
    clock.advance(minutes=1)
    assert deliver(services, item_id) == "sent"
    bodies = [form["Body"] for form in fake_twilio.sent()]
    assert len(bodies) == 3 and all(len(body) <= 1600 for body in bodies)
    assert " ".join(bodies) == long_text
    assert len(item(outbound, item_id).provider_sids) == 3


def test_without_twilio_credentials_a_send_is_stored_not_attempted(database_url: str, clock: Clock) -> None:
    app = create_app(base_config(database_url, None))  # no TWILIO_WHATSAPP_FROM: the local default
    with app.app_context():
        db.create_all()
    services = app.extensions["sdr_outbound"]
    services.clock = clock
    assert not services.sender.live
    WebhookClient(app).send_whatsapp(PHONE, "oi")
    item_id = queue_send(app, clock, text="Oi?")
    assert deliver(services, item_id) == "skipped"
    assert item(app, item_id).last_error == "no Twilio credentials: stored, not sent"
    with app.app_context():
        stored = db.session.scalars(select(Message).where(Message.status == "not_sent")).one()
        assert stored.text == "Oi?"


@pytest.mark.parametrize(("database_url", "redis_url"), [("postgresql", "redis"), ("sqlite", "redis")], indirect=True)
def test_a_call_that_defers_the_email_gets_a_whatsapp_template_through_a_real_rq_worker(
    outbound: Flask, fake_twilio: FakeTwilio, redis_url: str
) -> None:
    call = WebhookClient(outbound).call(PHONE)
    call.start()
    for speech in ("sim", "Ana Souza", "Acme", "diretor", "automatizar vendas", "cinquenta mil reais", "em dois meses"):
        call.say(speech)
    assert call.ended
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    assert queue.count == 1  # enqueued by the turn that deferred the e-mail
    queue.enqueue("sdr_agent.worker.jobs.deliver_job", item_of_purpose(outbound, "email_request"))  # a duplicate job
    SimpleWorker([queue], connection=connection).work(burst=True)
    connection.close()

    [form] = fake_twilio.sent()  # the lead never wrote on WhatsApp: outside the window, so the template
    assert (form["To"], form["ContentSid"], form["ContentVariables"]) == (f"whatsapp:{PHONE}", TEMPLATE, '{"1": "Ana"}')


def item_of_purpose(app: Flask, purpose: str) -> int:
    with app.app_context():
        return db.session.scalar(select(OutboxItem.id).where(OutboxItem.purpose == purpose))
