"""Handoff and CRM webhooks, received by a local HTTP server: payload, signature, retries, and a fast webhook."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time

import pytest
import redis
from flask import Flask
from rq import Queue, SimpleWorker
from sqlalchemy import select

from sdr_agent.extensions import db
from sdr_agent.models import OutboxItem
from sdr_agent.simulator import WebhookClient
from sdr_agent.worker.dispatch import QUEUE_NAME
from tests.conftest import Clock, base_config, close_app, finish_background_work, make_app
from tests.http_recorder import HttpRecorder, Recorded

PHONE = "+5511987650022"
SECRET = "webhook-signing-secret"
QUALIFYING = ["oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar a qualificação", "50 mil", "este mês",
              "ana@acme.com.br"]


@pytest.fixture
def app_config(database_url: str, redis_url: str | None, receiver: HttpRecorder) -> dict[str, str]:
    return base_config(database_url, redis_url, SDR_HANDOFF_WEBHOOK_URL=f"{receiver.url}/handoff",
                       SDR_CRM_WEBHOOK_URL=f"{receiver.url}/crm", SDR_WEBHOOK_SECRET=SECRET,
                       PUBLIC_BASE_URL="https://sdr.example.com")


def verify(request: Recorded) -> dict:
    """What a receiver does: recompute the signature over timestamp + body, then parse."""
    timestamp = request.headers["X-SDR-Timestamp"]
    expected = "sha256=" + hmac.new(SECRET.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(request.headers["X-SDR-Signature"], expected)
    return json.loads(request.body)


def outbox(app: Flask) -> list[OutboxItem]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


@pytest.mark.parametrize(("database_url", "redis_url"), [("sqlite", "absent"), ("postgresql", "absent")], indirect=True)
def test_asking_for_a_person_posts_a_signed_handoff_with_the_lead_summary(app: Flask, receiver: HttpRecorder) -> None:
    webhooks = WebhookClient(app)
    for text in ("oi", "sim", "Ana Souza", "Acme"):
        webhooks.send_whatsapp(PHONE, text)
    assert webhooks.send_whatsapp(PHONE, "quero falar com um atendente") == [
        "Combinado! Uma pessoa do nosso time vai responder por aqui em breve."]
    finish_background_work(app)  # without Redis the delivery runs in-process, after the response

    [request] = receiver.requests
    assert request.path == "/handoff"
    payload = verify(request)
    assert payload["event"] == "lead.handoff" and payload["reason"] == "user_requested"
    lead = payload["lead"]
    assert (lead["phone"], lead["name"], lead["company"], lead["stage"], lead["handed_off"]) == (
        PHONE, "Ana Souza", "Acme", "handoff", True)
    assert payload["transcript_url"] == f"https://sdr.example.com/admin/leads/{lead['id']}"
    assert request.headers["X-SDR-Idempotency-Key"].startswith("handoff:")
    assert [item.status for item in outbox(app)] == ["sent"]
    # Handed off: the bot stops asking questions, and only says a person will answer.
    assert webhooks.send_whatsapp(PHONE, "oi?") == [app.extensions["sdr_flow"].text("handoff_waiting", "pt-BR")]
    assert webhooks.send_whatsapp(PHONE, "oi??") == []


def test_a_slack_webhook_gets_slack_text(app_config: dict[str, str], receiver: HttpRecorder, database_url: str) -> None:
    from sdr_agent import create_app

    app = create_app({**app_config, "SDR_HANDOFF_WEBHOOK_FORMAT": "slack"})
    with app.app_context():
        db.create_all()
    webhooks = WebhookClient(app)
    webhooks.send_whatsapp(PHONE, "oi")
    webhooks.send_whatsapp(PHONE, "falar com atendente")
    finish_background_work(app)
    [request] = receiver.requests
    text = verify(request)["text"]
    assert "Lead wants a person" in text and PHONE in text and "/admin/leads/" in text


def test_lead_text_cannot_ping_the_channel_or_disguise_a_link_in_slack(
        app_config: dict[str, str], receiver: HttpRecorder) -> None:
    app = make_app({**app_config, "SDR_HANDOFF_WEBHOOK_FORMAT": "slack"})
    webhooks = WebhookClient(app)
    need = "<!channel> urgente: <https://evil.example/login|Abrir o CRM> & <@U024BE7LH>"
    for text in ["oi", "sim", "Ana Souza", "Acme <!here>", "1", need, "falar com atendente"]:
        webhooks.send_whatsapp(PHONE, text)
    close_app(app)
    [request] = receiver.requests
    text = verify(request)["text"]
    assert "&lt;!channel&gt; urgente: &lt;https://evil.example/login|Abrir o CRM&gt; &amp; &lt;@U024BE7LH&gt;" in text
    # Slack reads only <...> as mentions and links; the only ones left are none at all.
    assert "<" not in text and ">" not in text


def test_a_qualified_lead_is_pushed_to_the_crm(app: Flask, receiver: HttpRecorder) -> None:
    webhooks = WebhookClient(app)
    for text in QUALIFYING:
        webhooks.send_whatsapp(PHONE, text)
    finish_background_work(app)
    [request] = receiver.requests
    assert request.path == "/crm"
    payload = verify(request)
    assert payload["version"] == 1 and payload["event"] == "lead.qualified"
    assert payload["lead"]["email"] == "ana@acme.com.br" and payload["lead"]["budget_amount"] == 50000
    assert payload["lead"]["score_reasons"]


def test_a_receiver_that_is_down_is_retried_later_and_the_webhook_stays_fast(
    app_config: dict[str, str], receiver: HttpRecorder, database_url: str
) -> None:
    from sdr_agent import create_app

    with socket.socket() as probe:  # a port where nothing listens: connection refused
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    app = create_app({**app_config, "SDR_CRM_WEBHOOK_URL": f"{dead}/crm"})
    with app.app_context():
        db.create_all()
    clock = Clock()
    app.extensions["sdr_conversation"].clock = clock
    app.extensions["sdr_outbound"].clock = clock
    webhooks = WebhookClient(app)
    started = time.monotonic()
    for text in QUALIFYING:
        webhooks.send_whatsapp(PHONE, text)
    assert time.monotonic() - started < 5
    finish_background_work(app)
    [item] = outbox(app)
    assert (item.status, item.attempts, item.last_error) == ("pending", 1, "ConnectionError")

    # The receiver is back (same item, now pointed at the live receiver), and the retry time has come.
    app.extensions["sdr_outbound"].settings = app.extensions["sdr_settings"].replace(
        crm_webhook_url=f"{receiver.url}/crm")
    clock.advance(seconds=31)
    assert app.extensions["sdr_sweeper"].run()["delivered"] == 1
    [item] = outbox(app)
    assert (item.status, item.attempts) == ("sent", 2)
    assert verify(receiver.requests[0])["event"] == "lead.qualified"


def test_a_receiver_answering_500_is_retried_and_a_400_is_not(app: Flask, receiver: HttpRecorder) -> None:
    clock = Clock()
    app.extensions["sdr_outbound"].clock = clock
    app.extensions["sdr_conversation"].clock = clock
    receiver.then(500)
    webhooks = WebhookClient(app)
    webhooks.send_whatsapp(PHONE, "oi")
    webhooks.send_whatsapp(PHONE, "falar com atendente")
    finish_background_work(app)
    assert outbox(app)[0].status == "pending"
    clock.advance(minutes=1)
    app.extensions["sdr_sweeper"].run()
    assert outbox(app)[0].status == "sent"

    receiver.then(400)
    webhooks.send_whatsapp("+5511987650023", "falar com atendente")
    finish_background_work(app)
    assert (outbox(app)[1].status, outbox(app)[1].last_error) == ("failed", "HTTP 400")


def test_without_a_webhook_url_the_notification_is_recorded_as_skipped(database_url: str) -> None:
    from sdr_agent import create_app

    app = create_app(base_config(database_url, None))
    with app.app_context():
        db.create_all()
    WebhookClient(app).send_whatsapp(PHONE, "falar com atendente")
    finish_background_work(app)
    [item] = outbox(app)
    assert (item.kind, item.status, item.last_error) == ("handoff", "skipped", "no handoff webhook URL configured")


@pytest.mark.parametrize(("database_url", "redis_url"), [("postgresql", "redis")], indirect=True)
def test_with_redis_the_notification_waits_for_the_rq_worker(app: Flask, receiver: HttpRecorder, redis_url: str) -> None:
    WebhookClient(app).send_whatsapp(PHONE, "falar com atendente")
    assert receiver.requests == []  # nothing is sent inside the webhook request
    connection = redis.Redis.from_url(redis_url)
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)
    connection.close()
    [request] = receiver.requests
    assert verify(request)["event"] == "lead.handoff"


def test_a_hot_lead_is_handed_off_with_its_reason(app_config: dict[str, str], receiver: HttpRecorder, tmp_path) -> None:
    from sdr_agent import create_app
    from sdr_agent.qualification import default_flow_path

    flow = tmp_path / "hot.yaml"
    flow.write_text(default_flow_path().read_text(encoding="utf-8").replace("  # hand_off_at: 70 ", "  hand_off_at: 45 #"),
                    encoding="utf-8")
    app = create_app({**app_config, "SDR_FLOW_FILE": str(flow)})
    with app.app_context():
        db.create_all()
    webhooks = WebhookClient(app)
    for text in QUALIFYING[:7]:  # up to the budget answer, which makes the lead hot
        webhooks.send_whatsapp(PHONE, text)
    finish_background_work(app)
    [request] = receiver.requests
    payload = verify(request)
    assert (request.path, payload["reason"], payload["lead"]["score"]) == ("/handoff", "hot_lead", 50)


@pytest.mark.parametrize(("database_url", "redis_url"), [("sqlite", "absent"), ("postgresql", "absent")], indirect=True)
def test_a_callback_request_reaches_the_handoff_webhook_and_the_questions_go_on(app: Flask, receiver: HttpRecorder) -> None:
    webhooks = WebhookClient(app)
    for text in ("oi", "sim", "Ana Souza", "Acme"):
        webhooks.send_whatsapp(PHONE, text)
    replies = webhooks.send_whatsapp(PHONE, "pode me ligar amanhã às 10h?")
    assert replies[0] == "Combinado, anotei o pedido de ligação (amanhã às 10h) e passei para o time."
    assert "Qual destas opções descreve melhor o seu cargo?" in replies[-1]
    finish_background_work(app)

    [request] = receiver.requests
    assert request.path == "/handoff"
    payload = verify(request)
    assert payload["event"] == "lead.callback" and payload["reason"] == "callback_requested"
    assert payload["lead"]["callback"]["when"] == "amanhã às 10h"
    assert payload["lead"]["handed_off"] is False and payload["lead"]["stage"] == "role"
    # Not derailed: the next answer fills the open question.
    assert "O que você gostaria de resolver" in webhooks.send_whatsapp(PHONE, "sou diretora")[-1]


def test_the_crm_gets_the_questions_left_for_the_specialist_and_what_was_not_given(
    app: Flask, receiver: HttpRecorder
) -> None:
    webhooks = WebhookClient(app)
    script = ["oi", "sim", "Ana Souza", "Acme", "vocês têm escritório em Portugal?", "1",
              "Queremos automatizar a qualificação", "50 mil", "este mês", "prefiro não dizer"]
    for text in script:
        webhooks.send_whatsapp(PHONE, text)
    finish_background_work(app)
    [request] = receiver.requests
    lead = verify(request)["lead"]
    assert lead["open_questions"] == ["vocês têm escritório em Portugal?"]
    assert lead["not_given"] == {"email": "declined"}
    assert lead["email"] is None and lead["stage"] == "qualified"
