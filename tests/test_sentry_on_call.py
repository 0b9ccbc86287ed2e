"""What an on-call engineer relies on, through the real app and a local Sentry sink: failures that reach
Sentry, one issue per cause, and no personal data on any path (web, voice, worker, sweep, admin)."""
from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any, Iterator

import pytest
import redis
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry
from sqlalchemy import func, select, text

from sdr_agent import conversation, telemetry
from sdr_agent.admin import filters as admin_filters
from sdr_agent.extensions import db
from sdr_agent.models import ConversationThread, Lead, Message
from sdr_agent.outbound.delivery import deliver
from sdr_agent.outbound.outbox import WHATSAPP, add_outbox_item
from sdr_agent.phone import phone_hash
from sdr_agent.simulator import WebhookClient, whatsapp_form
from sdr_agent.worker.dispatch import QUEUE_NAME
from sdr_agent.worker.jobs import sweep_job
from tests.admin.conftest import ADMIN_PASSWORD, log_in
from tests.conftest import PHONE_SECRET, Clock, signed_post
from tests.http_recorder import HttpRecorder, Recorded
from tests.sentry_fixtures import sentry_dsn, sentry_sink, spellings  # noqa: F401 - pytest fixtures
from tests.sentry_sink import SentrySink
from tests.test_sentry_conversations import (broken_step, delivered, message_transactions, named, traced_app,
                                             traced_config)  # noqa: F401 - pytest fixture

PHONE = "+5511976540001"
OTHER_PHONE = "+5511976540002"
NAME = "Rui"  # names and companies this short used to slip past the redaction of known values
CALLER_NAME = "Bia"
COMPANY = "3M"
# A Slack incoming webhook: the last three path segments are its credential.
SLACK_PATH = "/services/T0AB12CD3/B0CD45EF6/abcdEFGHijklMNOPqrstUVwx"
SLACK_SECRET = "abcdEFGHijklMNOPqrstUVwx"
HANDOFF = ["oi", "sim", NAME, COMPANY, "quero falar com um atendente"]
# Built far from the lines that raise: the source context of stack frames would show a literal.
SQL_PARAMETER = "Quintessa " + "Varga"


def receiver_answering(*statuses: int) -> HttpRecorder:
    """A webhook receiver answering these statuses in turn, then the last one for ever."""
    answers = itertools.chain(statuses, itertools.repeat(statuses[-1]))

    def respond(_request: Recorded) -> tuple[int, dict[str, str], bytes]:
        return next(answers), {"Content-Type": "text/plain"}, b"answer"

    return HttpRecorder(respond)


@pytest.fixture
def failing_receiver() -> Iterator[HttpRecorder]:
    """A hand-off receiver that answers 500 to everything."""
    server = receiver_answering(500).start()
    yield server
    server.stop()


def assert_never_sent(sink: SentrySink, *values: str) -> None:
    """No value, in any spelling, in any byte sent; values under four characters as whole words only."""
    raw = sink.raw_bytes()
    assert raw, "nothing was sent, so nothing was checked"
    text_sent = raw.decode("utf-8", "replace")
    for value in values:
        for form in spellings(value):
            if len(form) < 4:
                found = re.search(rf"(?<![0-9A-Za-z]){re.escape(form)}(?![0-9A-Za-z])", text_sent, re.IGNORECASE)
                assert found is None, f"{form!r} was sent: ...{text_sent[max(found.start() - 300, 0):found.end() + 80]}"
            else:
                assert form.lower() not in text_sent.lower(), f"{form!r} was sent"


def outbound_transactions(sink: SentrySink) -> list[dict[str, Any]]:
    return [t for t in sink.transactions() if t["contexts"]["trace"]["op"] == "sdr.outbound"]


# --- 1 and 2: a hand-off that never reaches a person ---------------------------------------------

def test_a_handoff_webhook_failing_until_retries_run_out_is_one_error_event_without_personal_data(
    traced_config: dict[str, str], failing_receiver: HttpRecorder, sentry_sink: SentrySink  # noqa: F811
) -> None:
    app = traced_app(traced_config, SDR_HANDOFF_WEBHOOK_URL=failing_receiver.url + SLACK_PATH,
                     SDR_HANDOFF_WEBHOOK_FORMAT="slack", SDR_OUTBOUND_MAX_ATTEMPTS="2")
    clock = Clock()
    app.extensions["sdr_conversation"].clock = clock
    app.extensions["sdr_outbound"].clock = clock
    webhooks = WebhookClient(app)
    for message in HANDOFF:
        webhooks.send_whatsapp(PHONE, message)
    app.extensions["sdr_dispatcher"].join()
    clock.advance(minutes=5)
    assert app.extensions["sdr_sweeper"].run_monitored()["delivered"] == 1  # the retry, from the sweep
    assert len(failing_receiver.requests) == 2
    delivered(sentry_sink, lambda: named(sentry_sink, "Outbound delivery failed")
              and len(outbound_transactions(sentry_sink)) == 2)

    [failure] = named(sentry_sink, "Outbound delivery failed")
    assert failure["level"] == "error"
    assert failure["fingerprint"] == ["delivery-failed", "handoff", "retries_exhausted"]
    assert failure["tags"]["integration"] == "handoff" and failure["tags"]["failure"] == "retries_exhausted"
    assert failure["extra"]["attempts"] == 2 and failure["extra"]["reason"].endswith("HTTP 500")
    assert failure["user"] == {"id": phone_hash(PHONE_SECRET, PHONE)}
    statuses = [t["contexts"]["trace"]["status"] for t in outbound_transactions(sentry_sink)]
    assert statuses == ["unavailable", "unavailable"]
    spans = [s for t in outbound_transactions(sentry_sink) for s in t["spans"] if s["op"] == "http.client"]
    assert spans and all("/services/[Filtered]" in s["description"] for s in spans)
    assert_never_sent(sentry_sink, PHONE, NAME, COMPANY, SLACK_SECRET, "B0CD45EF6")
    app.extensions["sdr_dispatcher"].join()


def test_a_receiver_refusing_the_handoff_is_a_rejected_failure_and_a_failed_transaction(
    traced_config: dict[str, str], sentry_sink: SentrySink  # noqa: F811
) -> None:
    receiver = receiver_answering(404).start()
    try:
        app = traced_app(traced_config, SDR_HANDOFF_WEBHOOK_URL=f"{receiver.url}/handoff")
        for message in HANDOFF:
            WebhookClient(app).send_whatsapp(PHONE, message)
        app.extensions["sdr_dispatcher"].join()
    finally:
        receiver.stop()
    delivered(sentry_sink, lambda: named(sentry_sink, "Outbound delivery failed") and outbound_transactions(sentry_sink))

    [failure] = named(sentry_sink, "Outbound delivery failed")
    assert failure["fingerprint"] == ["delivery-failed", "handoff", "rejected"]
    assert failure["extra"]["reason"] == "HTTP 404"
    [transaction] = outbound_transactions(sentry_sink)
    assert transaction["contexts"]["trace"]["status"] == "internal_error"


def test_a_whatsapp_send_skipped_because_the_window_closed_without_a_template_warns(
    traced_config: dict[str, str], sentry_sink: SentrySink  # noqa: F811
) -> None:
    app = traced_app(traced_config)
    clock = Clock()
    app.extensions["sdr_conversation"].clock = clock
    WebhookClient(app).send_whatsapp(PHONE, "oi")
    clock.advance(hours=25)
    app.extensions["sdr_outbound"].clock = clock
    with app.extensions["sdr_session_factory"].begin() as session:
        lead = session.scalar(select(Lead.id).where(Lead.phone == PHONE))
        item_id = add_outbox_item(session, lead_id=lead, kind=WHATSAPP, purpose="follow_up", key="nudge-1",
                                  payload={}, now=clock.now)
    assert item_id is not None
    assert deliver(app.extensions["sdr_outbound"], item_id) == "skipped"
    delivered(sentry_sink, lambda: named(sentry_sink, "WhatsApp send skipped: window closed, no template"))

    [warning] = named(sentry_sink, "WhatsApp send skipped: window closed, no template")
    assert warning["level"] == "warning"
    assert (warning["tags"]["purpose"], warning["tags"]["language"]) == ("follow_up", "pt-BR")
    assert warning["user"] == {"id": phone_hash(PHONE_SECRET, PHONE)}
    [transaction] = outbound_transactions(sentry_sink)
    assert transaction["contexts"]["trace"]["status"] == "failed_precondition"


def test_a_failed_or_undelivered_status_callback_is_an_error_event_once(
    traced_config: dict[str, str], sentry_sink: SentrySink  # noqa: F811
) -> None:
    app = traced_app(traced_config)
    WebhookClient(app).send_whatsapp(PHONE, "oi")
    sid = "SM" + "cd" * 16
    with app.extensions["sdr_session_factory"].begin() as session:
        lead = session.scalars(select(Lead).where(Lead.phone == PHONE)).one()
        thread_id = session.scalar(select(func.max(ConversationThread.id)).where(ConversationThread.lead_id == lead.id))
        session.add(Message(lead_id=lead.id, thread_id=thread_id, direction="outbound", channel="whatsapp",
                            text="Oi", provider_sid=sid, status="sent"))
    client = app.test_client()
    form = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "63016", "AccountSid": "AC" + "1" * 32}
    for _ in range(2):  # Twilio repeats callbacks
        assert signed_post(client, "/twilio/status", form).status_code == 200
    delivered(sentry_sink, lambda: named(sentry_sink, "WhatsApp message not delivered"))

    [event] = named(sentry_sink, "WhatsApp message not delivered")
    assert event["level"] == "error"
    assert (event["tags"]["status"], event["tags"]["error_code"]) == ("undelivered", "63016")
    assert event["fingerprint"] == ["message-undelivered", "63016"]
    assert event["user"] == {"id": phone_hash(PHONE_SECRET, PHONE)}


# --- 3: refused signatures -----------------------------------------------------------------------

def test_refused_signatures_are_counted_and_warn_once_per_route_past_the_threshold(
    traced_config: dict[str, str], sentry_sink: SentrySink  # noqa: F811
) -> None:
    app = traced_app(traced_config, PUBLIC_BASE_URL="https://wrong.example.com", SDR_SIGNATURE_ALERT_THRESHOLD="3")
    client = app.test_client()
    for _ in range(5):
        # Signed for the URL Twilio really called, validated against the wrong PUBLIC_BASE_URL.
        response = signed_post(client, "/twilio/whatsapp", whatsapp_form(PHONE, "oi"))
        assert response.status_code == 403
    assert client.post("/twilio/voice", data={"From": PHONE}).status_code == 403
    def refusals() -> dict[str, float]:
        return {m["attributes"]["route"]["value"]: m["value"] for m in sentry_sink.metrics()
                if m["name"] == "sdr.webhook.signature_refused"}

    delivered(sentry_sink, lambda: named(sentry_sink, "Twilio signature refused") and len(refusals()) == 2)

    [warning] = named(sentry_sink, "Twilio signature refused")  # one: the voice route is under the threshold
    assert warning["level"] == "warning"
    assert warning["tags"]["route"] == "/twilio/whatsapp"
    assert warning["fingerprint"] == ["signature-refused", "/twilio/whatsapp"]
    assert warning["extra"]["validated_url"] == "https://wrong.example.com/twilio/whatsapp"
    assert warning["extra"]["refusals"] == 3
    # Counted in the process and sent as one sum per route (per interval, and on flush).
    assert refusals() == {"/twilio/voice": 1.0, "/twilio/whatsapp": 5.0}
    assert_never_sent(sentry_sink, PHONE)
    assert b"X-Twilio-Signature" not in sentry_sink.raw_bytes()


# --- 5: the sweep ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("database_url", "redis_url"), [("sqlite", "redis")], indirect=True)
def test_a_failed_sweep_checks_in_as_an_error_and_still_schedules_the_next(
    traced_config: dict[str, str], redis_url: str, sentry_sink: SentrySink  # noqa: F811
) -> None:
    app = traced_app({**traced_config, "DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"},
                     SDR_SWEEP_INTERVAL_SECONDS="60")
    with pytest.raises(Exception):
        sweep_job()
    connection = redis.Redis.from_url(redis_url)
    try:
        scheduled = ScheduledJobRegistry(queue=Queue(QUEUE_NAME, connection=connection)).get_job_ids()
    finally:
        connection.close()
    assert len(scheduled) == 1 and scheduled[0].startswith("sdr-sweep-")
    delivered(sentry_sink, lambda: len(sentry_sink.check_ins()) == 2)
    assert [(c["monitor_slug"], c["status"]) for c in sentry_sink.check_ins()] == [
        ("sdr-sweep", "in_progress"), ("sdr-sweep", "error")]


def test_the_in_process_sweep_checks_in_and_its_idle_resets_name_the_lead_and_channel(
    traced_config: dict[str, str], sentry_sink: SentrySink  # noqa: F811
) -> None:
    app = traced_app(traced_config, SDR_SWEEP_INTERVAL_SECONDS="0.2")
    clock = Clock()
    app.extensions["sdr_conversation"].clock = clock
    app.extensions["sdr_outbound"].clock = clock
    WebhookClient(app).send_whatsapp(PHONE, "oi")
    clock.advance(hours=30)
    app.extensions["sdr_dispatcher"].schedule_sweep(timedelta(seconds=0.2))  # starts the in-process thread
    delivered(sentry_sink, lambda: named(sentry_sink, "Conversation thread reset") and len(
        [c for c in sentry_sink.check_ins() if c["status"] == "ok"]) >= 1)

    assert {c["monitor_slug"] for c in sentry_sink.check_ins()} == {"sdr-sweep"}
    [reset] = named(sentry_sink, "Conversation thread reset")
    assert reset["tags"]["reason"] == "idle_timeout" and reset["tags"]["channel"] == "whatsapp"
    assert reset["user"] == {"id": phone_hash(PHONE_SECRET, PHONE)}
    assert_never_sent(sentry_sink, PHONE)


@pytest.mark.parametrize(("database_url", "redis_url"), [("sqlite", "redis")], indirect=True)
def test_each_worker_job_starts_with_no_breadcrumbs_of_the_jobs_before_it(
    traced_config: dict[str, str], redis_url: str, sentry_sink: SentrySink  # noqa: F811
) -> None:
    receiver = receiver_answering(200, 404).start()
    try:
        app = traced_app(traced_config, SDR_HANDOFF_WEBHOOK_URL=receiver.url + SLACK_PATH)
        webhooks = WebhookClient(app)
        webhooks.send_whatsapp(PHONE, "falar com atendente")
        webhooks.send_whatsapp(OTHER_PHONE, "falar com atendente")
        connection = redis.Redis.from_url(redis_url)
        SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)
        connection.close()
    finally:
        receiver.stop()
    assert [r.status for r in receiver.requests] == [200, 404]
    delivered(sentry_sink, lambda: named(sentry_sink, "Outbound delivery failed"))

    [failure] = named(sentry_sink, "Outbound delivery failed")
    assert failure["user"] == {"id": phone_hash(PHONE_SECRET, OTHER_PHONE)}
    crumbs = failure.get("breadcrumbs", {}).get("values", [])
    # The first job's delivery (its request, its log line) belongs to another lead.
    requests_seen = [c["data"]["http.response.status_code"] for c in crumbs if c.get("category") == "httplib"]
    assert requests_seen == [404]
    assert not any("sent" in str(c.get("message")) for c in crumbs)
    assert_never_sent(sentry_sink, PHONE, OTHER_PHONE, SLACK_SECRET)


# --- 1: errors on every path carry no personal data --------------------------------------------------

def test_errors_on_the_web_and_voice_paths_carry_no_short_names(
    traced_config: dict[str, str], sentry_sink: SentrySink, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    app = traced_app(traced_config)
    webhooks = WebhookClient(app)
    for message in ["oi", "sim", NAME, COMPANY]:
        webhooks.send_whatsapp(PHONE, message)
    call = webhooks.call(OTHER_PHONE)
    call.start()
    call.say("sim")
    call.say(CALLER_NAME)
    monkeypatch.setattr(conversation, "step", broken_step)
    webhooks.send_whatsapp(PHONE, "Jo")
    call.say("Li")
    delivered(sentry_sink, lambda: len([e for e in sentry_sink.events() if "exception" in e]) == 2)

    errors = [e for e in sentry_sink.events() if "exception" in e]
    assert {e["tags"]["channel"] for e in errors} == {"whatsapp", "voice"}
    assert all("fingerprint" not in e for e in errors)  # grouped by the stack: one bug, one issue
    assert_never_sent(sentry_sink, PHONE, OTHER_PHONE, NAME, CALLER_NAME, COMPANY, "Jo", "Li")


def test_an_admin_search_that_fails_sends_neither_the_term_nor_bound_parameters(
    traced_config: dict[str, str], sentry_sink: SentrySink, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    app = traced_app(traced_config, ADMIN_PASSWORD=ADMIN_PASSWORD)
    for message in ["oi", "sim", NAME]:
        WebhookClient(app).send_whatsapp(PHONE, message)
    real_conditions = admin_filters.LeadFilters.conditions

    def with_a_sql_bug(self: admin_filters.LeadFilters) -> list[Any]:
        # An injected bug: the statement fails in the database, with the search term as a parameter.
        return [*real_conditions(self), func.no_such_function(self.q) == 1]

    monkeypatch.setattr(admin_filters.LeadFilters, "conditions", with_a_sql_bug)
    app.testing = False  # answer 500 as in production instead of raising into the test
    client = app.test_client()
    assert log_in(client).status_code == 303
    assert client.get(f"/admin/leads?q={NAME}").status_code == 500
    delivered(sentry_sink, lambda: [e for e in sentry_sink.events() if "exception" in e])

    [error] = [e for e in sentry_sink.events() if "exception" in e]
    assert error["exception"]["values"][-1]["type"] == "OperationalError"
    assert_never_sent(sentry_sink, PHONE, NAME, ADMIN_PASSWORD)


def test_sql_errors_never_carry_bound_parameters(traced_config: dict[str, str],
                                                 sentry_sink: SentrySink) -> None:  # noqa: F811
    app = traced_app(traced_config)
    with app.app_context():
        try:
            db.session.execute(text("SELECT no_such_function(:who)"), {"who": SQL_PARAMETER})
        except Exception as exc:  # noqa: BLE001 - the error is the point
            telemetry.capture_error(exc, None, None)
    delivered(sentry_sink, lambda: sentry_sink.events())
    [error] = sentry_sink.events()
    assert "no_such_function" in error["exception"]["values"][-1]["value"]
    assert_never_sent(sentry_sink, "Quintessa", "Varga")


# --- 7: trace headers from the public internet ---------------------------------------------------------

@pytest.mark.parametrize(("rate", "flag", "traced"), [("1", "-0", True), ("0", "-1", False)])
def test_the_twilio_webhooks_make_their_own_sampling_decision(
    traced_config: dict[str, str], sentry_sink: SentrySink, rate: str, flag: str, traced: bool  # noqa: F811
) -> None:
    app = traced_app(traced_config, SENTRY_TRACES_SAMPLE_RATE=rate)
    caller_trace = "a" * 32
    headers = {"sentry-trace": f"{caller_trace}-{'b' * 16}{flag}",
               "baggage": f"sentry-trace_id={caller_trace},sentry-sample_rand=0.000001,sentry-public_key=evil"}
    client = app.test_client()
    assert signed_post(client, "/twilio/whatsapp", whatsapp_form(PHONE, "oi"), **headers).status_code == 200
    assert client.post("/twilio/status", data={"MessageSid": "SM" + "0" * 32}, headers=headers).status_code == 403
    telemetry.capture_error(RuntimeError("marker"), None, None)
    delivered(sentry_sink, lambda: sentry_sink.events())

    transactions = message_transactions(sentry_sink)
    assert len(transactions) == (1 if traced else 0)
    assert len(sentry_sink.transactions()) == (2 if traced else 0)  # the unsigned request too
    if traced:
        trace = transactions[0]["contexts"]["trace"]
        # Neither a child of the caller's span nor part of the caller's trace.
        assert trace.get("parent_span_id") is None and trace["trace_id"] != caller_trace
        envelope = next(e for e in sentry_sink.envelopes() if any(i.type == "transaction" for i in e.items))
        assert envelope.headers["trace"]["public_key"] == "publickey"
