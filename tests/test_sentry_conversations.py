"""Real conversations through the app, with Sentry sending to a local sink: what arrives, and what never does."""
from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest
import redis
from flask import Flask

from sdr_agent import conversation, create_app, telemetry
from sdr_agent.extensions import db
from sdr_agent.phone import phone_hash
from sdr_agent.simulator import WebhookClient, whatsapp_form
from tests.conftest import PHONE_SECRET, Clock, base_config, finish_background_work, signed_post
from tests.sentry_fixtures import sentry_dsn, sentry_sink, spellings  # noqa: F401 - pytest fixtures
from tests.sentry_sink import SentrySink

PHONE = "+5511976543210"
NAME = "Beatriz Albuquerque"
COMPANY = "Zentrix Sistemas"
EMAIL = "beatriz@zentrix.com.br"
NEED = "Queremos automatizar a triagem de leads do nosso time"
QUESTION = "quero saber o preço"
MESSAGE_OPS = {"sdr.dedupe", "sdr.lock", "sdr.load", "sdr.engine", "sdr.render", "sdr.persist"}
SPAN_OPS = MESSAGE_OPS - {"sdr.dedupe", "sdr.render"}  # the sub-millisecond phases are timed, not spans
WAIT_S = 10.0


@pytest.fixture
def traced_config(database_url: str, redis_url: str | None, sentry_dsn: str) -> Iterator[dict[str, str]]:  # noqa: F811
    """App settings that send telemetry to the sink; Sentry is shut down again afterwards."""
    telemetry.shutdown_telemetry()
    yield base_config(database_url, redis_url, SENTRY_DSN=sentry_dsn, SENTRY_RELEASE="test")
    telemetry.shutdown_telemetry()


def traced_app(config: dict[str, str], **extra: str) -> Flask:
    app = create_app({**config, **extra})
    app.config["TESTING"] = True
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.create_all()
    return app


@pytest.fixture
def app_with_sentry(traced_config: dict[str, str]) -> Iterator[Flask]:
    app = traced_app(traced_config)
    yield app
    finish_background_work(app)
    with app.app_context():
        db.engine.dispose()


def broken_step(*args: Any, **kwargs: Any) -> Any:
    """An engine that fails: stands in for any bug in a step."""
    raise KeyError("budget")


def delivered(sink: SentrySink, predicate: Callable[[], object]) -> None:
    telemetry.flush_telemetry(WAIT_S)
    assert sink.wait_for(predicate, WAIT_S), "expected telemetry never reached the sink"
    assert sink.rejected == []


def named(sink: SentrySink, message: str) -> list[dict[str, Any]]:
    return [event for event in sink.events() if event.get("message") == message]


def message_transactions(sink: SentrySink) -> list[dict[str, Any]]:
    return [t for t in sink.transactions() if t["contexts"]["trace"]["op"] == "sdr.message"]


def attribute(record: dict[str, Any], name: str) -> Any:
    return record["attributes"][name]["value"]


def assert_nothing_personal(sink: SentrySink, *values: str) -> None:
    """No value, in any spelling, in any byte the SDK sent."""
    raw = sink.raw_bytes()
    assert raw, "nothing was sent, so nothing was checked"
    lowered = raw.lower()
    for value in values:
        for form in spellings(value):
            at = raw.find(form.encode())
            assert at < 0, f"{form!r} was sent: ...{raw[max(at - 600, 0):at + 100]!r}"
            assert form.lower().encode() not in lowered, f"{form!r} was sent (any case)"


BACKENDS = pytest.mark.parametrize(("database_url", "redis_url"), [("sqlite", "absent"), ("postgresql", "redis")],
                                   indirect=True)


@BACKENDS
def test_a_lead_qualified_across_a_call_and_whatsapp_is_one_user_with_a_stage_trail(
    app_with_sentry: Flask, sentry_sink: SentrySink  # noqa: F811
) -> None:
    webhooks = WebhookClient(app_with_sentry)
    call = webhooks.call(PHONE)
    call.start()
    call.say("sim")
    call.say(NAME)
    call.hang_up()
    texts = [COMPANY, "1", NEED, "50 mil reais", "este mês", EMAIL]
    replies = [webhooks.send_whatsapp(PHONE, text) for text in ["oi", *texts]]
    assert replies[-1][0].startswith("Obrigado, Beatriz Albuquerque!")
    turns = 3 + 1 + len(texts)
    delivered(sentry_sink, lambda: len(message_transactions(sentry_sink)) == turns and [
        m for m in sentry_sink.metrics() if m["name"] == "sdr.lead.outcome"])

    transactions = message_transactions(sentry_sink)
    lead_id = phone_hash(PHONE_SECRET, PHONE)
    assert {t["user"]["id"] for t in transactions} == {lead_id}  # the same user on both channels
    assert [t["transaction"] for t in transactions].count("voice.turn") == 3
    assert [t["transaction"] for t in transactions].count("whatsapp.inbound") == 1 + len(texts)
    for transaction in transactions:
        assert set(transaction["tags"]) >= {"channel", "stage", "language"}
        assert transaction["tags"]["language"] == "pt-BR"
        ops = {span["op"] for span in transaction["spans"]}
        assert SPAN_OPS <= ops and not ops & {"sdr.dedupe", "sdr.render"}, ops
        engine = next(span for span in transaction["spans"] if span["op"] == "sdr.engine")
        assert transaction["contexts"]["conversation"]["flow_version"] == "default-b2b:1"
        assert "channel" not in engine.get("data", {})  # the transaction's tag, not repeated per span
    voice_stages = [t["tags"]["stage"] for t in transactions if t["tags"]["channel"] == "voice"]
    assert voice_stages == ["consent", "name", "company"]
    last = transactions[-1]
    assert (last["tags"]["stage"], last["tags"]["outcome"]) == ("qualified", "qualified")

    # A qualified lead is counted, not an event (only disqualifications and hand-offs are).
    assert named(sentry_sink, "Lead qualification outcome") == []
    [outcome] = [m for m in sentry_sink.metrics() if m["name"] == "sdr.lead.outcome"]
    assert (attribute(outcome, "outcome"), attribute(outcome, "channel")) == ("qualified", "whatsapp")

    entered = [attribute(m, "stage") for m in sentry_sink.metrics() if m["name"] == "sdr.stage.entered"]
    assert entered == ["consent", "name", "company", "role", "need", "budget", "timeline", "email", "qualified"]
    assert sentry_sink.logs() == []  # Sentry logs are off unless SENTRY_ENABLE_LOGS=1
    # The stay at each stage is in the trail's breadcrumbs, not a second metric per change.
    assert not [m for m in sentry_sink.metrics() if m["name"] == "sdr.stage.duration"]

    assert_nothing_personal(sentry_sink, PHONE, NAME, "Albuquerque", COMPANY, EMAIL, NEED, "50 mil reais")


def test_a_retried_message_is_one_more_transaction_and_no_second_stage_event(
    app_with_sentry: Flask, sentry_sink: SentrySink  # noqa: F811
) -> None:
    client = app_with_sentry.test_client()
    form = whatsapp_form(PHONE, "oi")
    for _ in range(2):
        assert signed_post(client, "/twilio/whatsapp", form).status_code == 200
    delivered(sentry_sink, lambda: len(message_transactions(sentry_sink)) == 2)
    assert [attribute(m, "stage") for m in sentry_sink.metrics() if m["name"] == "sdr.stage.entered"] == ["consent"]


def test_a_message_over_the_budget_warns_with_its_slowest_span(
    traced_config: dict[str, str], sentry_sink: SentrySink  # noqa: F811
) -> None:
    app = traced_app(traced_config, SDR_PROCESSING_BUDGET_MS="1")
    WebhookClient(app).send_whatsapp(PHONE, "oi")
    delivered(sentry_sink, lambda: named(sentry_sink, "Message processing exceeded budget"))

    [warning] = named(sentry_sink, "Message processing exceeded budget")
    assert warning["level"] == "warning"
    assert warning["fingerprint"] == ["processing-budget", "whatsapp"]
    assert warning["tags"]["stage"] == "consent"
    assert warning["extra"]["budget_ms"] == 1
    assert warning["extra"]["slowest_span_op"] in MESSAGE_OPS
    assert warning["user"]["id"] == phone_hash(PHONE_SECRET, PHONE)


@pytest.mark.parametrize(("database_url", "redis_url"), [("sqlite", "redis")], indirect=True)
def test_waiting_too_long_for_the_leads_lock_warns(traced_config: dict[str, str], redis_url: str,
                                                    sentry_sink: SentrySink) -> None:  # noqa: F811
    app = traced_app(traced_config, SDR_LOCK_TIMEOUT_SECONDS="0.2")
    holder = redis.Redis.from_url(redis_url)
    lock = holder.lock(f"sdr:lock:{phone_hash(PHONE_SECRET, PHONE)}", timeout=10)
    assert lock.acquire()
    try:
        # Another worker holds the lead: this message waits, then relies on the database lock.
        assert WebhookClient(app).send_whatsapp(PHONE, "oi")
    finally:
        lock.release()
        holder.close()
    delivered(sentry_sink, lambda: named(sentry_sink, "Lead lock wait exceeded"))
    [warning] = named(sentry_sink, "Lead lock wait exceeded")
    assert warning["level"] == "warning"
    assert warning["extra"]["waited_ms"] >= 50 and warning["extra"]["timeout_ms"] == 200
    assert warning["fingerprint"] == ["lock-wait", "whatsapp"]
    # The stage the lead was at when the message arrived, not the one it moved to.
    assert warning["tags"]["stage"] == "new"


def test_each_thread_reset_reason_is_an_event(app_with_sentry: Flask, sentry_sink: SentrySink,  # noqa: F811
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    app_with_sentry.extensions["sdr_conversation"].clock = clock
    webhooks = WebhookClient(app_with_sentry)
    webhooks.send_whatsapp(PHONE, "oi")
    webhooks.send_whatsapp(PHONE, "sim")
    clock.advance(hours=30)
    webhooks.send_whatsapp(PHONE, NAME)  # idle_timeout
    webhooks.send_whatsapp(PHONE, "recomeçar")  # user_requested

    real_step = conversation.step
    monkeypatch.setattr(conversation, "step", broken_step)
    apology = webhooks.send_whatsapp(PHONE, QUESTION)
    monkeypatch.setattr(conversation, "step", real_step)
    assert apology == ["Desculpe, tive um problema do meu lado. Pode enviar a sua última mensagem de novo?"]
    delivered(sentry_sink, lambda: len(named(sentry_sink, "Conversation thread reset")) == 3)

    resets = {event["tags"]["reason"]: event for event in named(sentry_sink, "Conversation thread reset")}
    assert set(resets) == {"idle_timeout", "user_requested", "error"}
    assert resets["idle_timeout"]["extra"]["thread_age_s"] == pytest.approx(30 * 3600, abs=1)
    assert resets["idle_timeout"]["extra"]["stage"] == "name"
    assert resets["user_requested"]["level"] == "info"
    error_reset = resets["error"]
    assert error_reset["level"] == "info"  # the error is its own event; the reset stays out of the error stream
    assert error_reset["extra"]["exception_type"] == "KeyError"
    [error] = [e for e in sentry_sink.events() if "exception" in e]
    assert "fingerprint" not in error
    assert (error["tags"]["channel"], error["tags"]["stage"]) == ("whatsapp", "consent")
    assert_nothing_personal(sentry_sink, PHONE, NAME, QUESTION)


def test_a_silent_voice_turn_is_a_warning_breadcrumb_and_a_metric(traced_config: dict[str, str],
                                                                  sentry_sink: SentrySink) -> None:  # noqa: F811
    # A 1 ms budget makes every turn send a warning event, which carries that turn's breadcrumbs
    # (Sentry attaches breadcrumbs to events, not to transactions).
    app = traced_app(traced_config, SDR_PROCESSING_BUDGET_MS="1")
    call = WebhookClient(app).call(PHONE)
    call.start()
    call.say("")
    call.say("falar com atendente")
    delivered(sentry_sink, lambda: named(sentry_sink, "Lead qualification outcome") and len(
        named(sentry_sink, "Message processing exceeded budget")) == 3)

    [metric] = [m for m in sentry_sink.metrics() if m["name"] == "sdr.voice.no_speech"]
    assert attribute(metric, "stage") == "consent"
    warnings = named(sentry_sink, "Message processing exceeded budget")
    silent_crumbs = [[c for c in w["breadcrumbs"]["values"] if c["category"] == "voice.no_speech"] for w in warnings]
    assert [len(crumbs) for crumbs in silent_crumbs] == [0, 1, 0]  # only the silent turn
    assert silent_crumbs[1][0]["level"] == "warning" and silent_crumbs[1][0]["data"] == {"stage": "consent"}
    [outcome] = named(sentry_sink, "Lead qualification outcome")
    assert outcome["tags"]["outcome"] == "handoff" and outcome["tags"]["channel"] == "voice"
    trail = [c["message"] for c in outcome["breadcrumbs"]["values"] if c["category"] == "qualification.stage"]
    assert trail == ["consent -> handoff"]


@BACKENDS
def test_messages_over_the_rate_limit_are_a_metric_and_a_breadcrumb_without_personal_data(
    traced_config: dict[str, str], sentry_sink: SentrySink  # noqa: F811
) -> None:
    # A 1 ms budget makes every message send a warning event, which carries that message's breadcrumbs.
    app = traced_app(traced_config, SDR_RATE_LIMIT_MESSAGES="1", SDR_PROCESSING_BUDGET_MS="1")
    webhooks = WebhookClient(app)
    for text in ["oi", NAME, QUESTION]:
        webhooks.send_whatsapp(PHONE, text)
    delivered(sentry_sink, lambda: len(named(sentry_sink, "Message processing exceeded budget")) == 3 and len(
        [m for m in sentry_sink.metrics() if m["name"] == "sdr.message.throttled"]) == 2)

    throttled = [m for m in sentry_sink.metrics() if m["name"] == "sdr.message.throttled"]
    assert sorted(attribute(m, "notice") for m in throttled) == ["no", "yes"]
    assert {attribute(m, "stage") for m in throttled} == {"consent"}
    crumbs = [[c for c in w["breadcrumbs"]["values"] if c["category"] == "rate_limit"]
              for w in named(sentry_sink, "Message processing exceeded budget")]
    assert [len(found) for found in crumbs] == [0, 1, 1]
    assert [found[0]["data"]["notice"] for found in crumbs[1:]] == [True, False]
    tags = [t["tags"].get("throttled") for t in message_transactions(sentry_sink)]
    assert sorted(tags, key=str) == sorted([None, "notice", "quiet"], key=str)
    assert_nothing_personal(sentry_sink, PHONE, NAME, "Albuquerque", QUESTION)
    finish_background_work(app)
    with app.app_context():
        db.engine.dispose()


def test_without_a_dsn_conversations_send_nothing(app: Flask, sentry_sink: SentrySink) -> None:  # noqa: F811
    telemetry.shutdown_telemetry()
    webhooks = WebhookClient(app)
    webhooks.send_whatsapp(PHONE, "oi")
    call = webhooks.call(PHONE)
    call.start()
    call.say("")
    assert sentry_sink.request_count == 0
    assert not telemetry.telemetry_enabled()


def test_a_503_while_the_database_is_down_is_reported(traced_config: dict[str, str],
                                                       sentry_sink: SentrySink) -> None:  # noqa: F811
    config = {**traced_config, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"}
    app = create_app(config)
    response = signed_post(app.test_client(), "/twilio/whatsapp", whatsapp_form(PHONE, "oi"))
    assert response.status_code == 503
    delivered(sentry_sink, lambda: [e for e in sentry_sink.events() if "exception" in e])
    [error] = [e for e in sentry_sink.events() if "exception" in e]
    assert error["exception"]["values"][-1]["type"] == "StorageUnavailable"
    assert "fingerprint" not in error
    assert_nothing_personal(sentry_sink, PHONE)


@pytest.mark.parametrize(("database_url", "redis_url"), [("sqlite", "redis")], indirect=True)
def test_the_worker_sweep_is_a_cron_monitor_and_deliveries_are_their_own_transactions(
    app_with_sentry: Flask, sentry_sink: SentrySink, redis_url: str  # noqa: F811
) -> None:
    from rq import Queue, SimpleWorker

    from sdr_agent.worker.dispatch import QUEUE_NAME
    from sdr_agent.worker.jobs import sweep_job

    WebhookClient(app_with_sentry).send_whatsapp(PHONE, "falar com atendente")  # a handoff to deliver
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(QUEUE_NAME, connection=connection)
    queue.enqueue(sweep_job, False)
    SimpleWorker([queue], connection=connection).work(burst=True)
    connection.close()
    delivered(sentry_sink, lambda: len(sentry_sink.check_ins()) >= 2 and [
        t for t in sentry_sink.transactions() if t["contexts"]["trace"]["op"] == "sdr.outbound"])

    statuses = [(c["monitor_slug"], c["status"]) for c in sentry_sink.check_ins()]
    assert statuses[:2] == [("sdr-sweep", "in_progress"), ("sdr-sweep", "ok")]
    [outbound] = [t for t in sentry_sink.transactions() if t["contexts"]["trace"]["op"] == "sdr.outbound"]
    assert outbound["transaction"] == "outbox.handoff"
    assert outbound["user"]["id"] == phone_hash(PHONE_SECRET, PHONE)
    assert_nothing_personal(sentry_sink, PHONE)
