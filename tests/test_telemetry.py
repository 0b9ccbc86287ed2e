"""Telemetry against the real Sentry SDK and a local HTTP sink: what is sent, and what never is."""
from __future__ import annotations

import json
import logging
import re
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler
from types import MappingProxyType
from typing import Any, Callable
from urllib.parse import quote, quote_plus

import pytest
import requests
import sentry_sdk
import urllib3
from flask import Flask, request
from twilio.http.http_client import TwilioHttpClient
from werkzeug.exceptions import Forbidden

from sdr_agent import telemetry
from sdr_agent.config import PROJECT_ROOT, Settings
from sdr_agent.phone import phone_hash
from sdr_agent.telemetry_web import instrument_app
from sdr_agent.scrubbing import (FILTERED, _fold, known_values, scrub_data, scrub_event, scrub_log, scrub_metric,
                                 scrub_text)
from tests.conftest import production_env
from tests.loopback import LoopbackServer
from tests.sentry_fixtures import clean_sdk, sentry_dsn, sentry_sink, spellings  # noqa: F401 - pytest fixtures
from tests.sentry_sink import SentrySink, parse_envelope

# Personal data used across the privacy tests. Built here, far from any line that raises, so the
# source context the SDK attaches to stack frames never shows these literals.
PHONE = "+5511987654321"
NAME = "Ana Souza"
EMAIL = "ana.souza@example.com"
CPF = "123.456.789-09"
TEXT = 'Quero "comprar" 50 licenças já'
SECRET = "test-phone-hash-secret"
LEAD_ID = phone_hash(SECRET, PHONE)
SENT_ON_WIRE_TIMEOUT_S = 10.0
SLACK_SECRET = "abcdEFGHijklMNOPqrstUVwx"


def settings_for(dsn: str | None = None, **env: str) -> Settings:
    """Development settings, with a DSN when given."""
    environ = {"SENTRY_RELEASE": "test-release", **env}
    if dsn:
        environ["SENTRY_DSN"] = dsn
    return Settings.from_env(environ)


pytestmark = pytest.mark.usefixtures("clean_sdk")


@pytest.fixture
def sink(sentry_sink: SentrySink, sentry_dsn: str) -> SentrySink:  # noqa: F811 - fixture injection
    """Telemetry initialised against the sink."""
    assert telemetry.init_telemetry(settings_for(sentry_dsn), "test")
    return sentry_sink


def sent(sink: SentrySink, predicate: Callable[[], object]) -> None:
    """Flush the SDK and wait until the sink saw what the test expects."""
    telemetry.flush_telemetry(SENT_ON_WIRE_TIMEOUT_S)
    assert sink.wait_for(predicate, SENT_ON_WIRE_TIMEOUT_S), "expected telemetry never reached the sink"
    assert sink.rejected == []


def messages(sink: SentrySink, message: str) -> list[dict[str, Any]]:
    """Events whose message is `message`."""
    return [event for event in sink.events() if event.get("message") == message]


def spans_of(transaction: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A transaction's spans by op (one of each in these tests)."""
    return {span["op"]: span for span in transaction["spans"]}


def attribute(record: dict[str, Any], name: str) -> Any:
    """The value of one attribute of a log or metric record."""
    return record["attributes"][name]["value"]


# --- Off without a DSN -------------------------------------------------------------------------

def test_without_a_dsn_nothing_starts_and_nothing_is_sent(sentry_sink: SentrySink) -> None:  # noqa: F811
    assert telemetry.init_telemetry(settings_for(None), "web") is False
    assert telemetry.telemetry_enabled() is False
    assert sentry_sdk.get_client().is_active() is False

    with telemetry.message_trace("whatsapp", "whatsapp.inbound", budget_ms=1, stage="budget") as trace:
        assert trace.enabled is False
        trace.set_lead(LEAD_ID)
        trace.redact(NAME)
        with trace.span("sdr.engine", stage_before="budget") as span:
            span.set_data("stage_after", "timeline")
        trace.stage_changed("budget", "timeline", 12.0, "whatsapp", "pt-BR")
        trace.outcome("qualified")
        time.sleep(0.01)
    with pytest.raises(TimeoutError), telemetry.external_call("twilio", timeout_s=1):
        raise TimeoutError("slow")
    telemetry.lock_wait_exceeded(6000, "budget")
    telemetry.no_speech("budget")
    telemetry.thread_reset("error", 60.0, "budget", ValueError("boom"))
    assert telemetry.capture_error(ValueError("boom"), "budget", "whatsapp") is None
    with telemetry.monitor_job("nightly-report", schedule="0 3 * * *"):
        pass
    telemetry.flush_telemetry()

    time.sleep(0.3)
    assert sentry_sink.request_count == 0


def test_init_runs_once_per_process(sentry_sink: SentrySink, sentry_dsn: str) -> None:  # noqa: F811
    assert telemetry.init_telemetry(settings_for(sentry_dsn), "web") is True
    client = sentry_sdk.get_client()
    assert telemetry.init_telemetry(settings_for(None), "worker") is True
    assert sentry_sdk.get_client() is client
    options = client.options
    assert options["environment"] == "development"
    assert options["release"] == "test-release"
    assert options["sample_rate"] == 1.0
    assert options["trace_propagation_targets"] == []
    assert options["max_request_body_size"] == "never"
    assert options["include_local_variables"] is False
    assert options["send_default_pii"] is None
    assert options["shutdown_timeout"] < 8
    assert options["enable_logs"] is False  # SENTRY_ENABLE_LOGS=1 turns them on
    assert {"rq", "logging"} <= set(client.integrations)
    # The Flask integration wraps every request in a session, a trace and a transaction before sampling is
    # decided; telemetry_web's wrapper replaces it.
    assert "flask" not in client.integrations
    # Per-statement spans and the module list cost every request; the sdr.* spans time those phases.
    assert not {"sqlalchemy", "redis", "modules"} & set(client.integrations)
    assert client.transport._compression_level == telemetry.TRANSPORT_COMPRESSION_LEVEL


def test_an_unreachable_ingest_gets_one_attempt_per_upload_and_no_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as probe:  # a port nobody listens on: every connection is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert telemetry.init_telemetry(settings_for(f"http://publickey@127.0.0.1:{port}/1"), "web")
    with caplog.at_level(logging.DEBUG):
        sentry_sdk.capture_message("first")
        telemetry.flush_telemetry(SENT_ON_WIRE_TIMEOUT_S)
    # urllib3 used to retry the refused connection three times, logging a WARNING for each.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("urllib3") and r.levelno >= logging.INFO] == []


class ClosingIngest(LoopbackServer):
    """An ingest that accepts connections and closes them unanswered; counts the connections."""

    def __init__(self) -> None:
        self.connections = 0
        ingest = self

        class Hangup(BaseHTTPRequestHandler):
            def handle(self) -> None:
                ingest.connections += 1  # returning closes the connection before a byte is read or written

        super().__init__(Hangup, "closing-ingest")


def test_a_failed_upload_pauses_uploads_for_a_moment_then_they_resume() -> None:
    ingest = ClosingIngest().start()
    try:
        assert telemetry.init_telemetry(settings_for(f"http://publickey@127.0.0.1:{ingest.port}/1"), "web")
        for number in range(20):
            sentry_sdk.capture_message(f"during the outage {number}")
            telemetry.flush_telemetry(SENT_ON_WIRE_TIMEOUT_S)
        # Every message would have been an upload (20 connections); the first failure pauses them.
        assert 1 <= ingest.connections <= 2, ingest.connections
        paused_at = ingest.connections
        time.sleep(telemetry.UNREACHABLE_PAUSE_S + 0.2)
        sentry_sdk.capture_message("after the pause")
        telemetry.flush_telemetry(SENT_ON_WIRE_TIMEOUT_S)
        assert ingest.connections == paused_at + 1
    finally:
        ingest.stop()


def test_release_falls_back_to_the_git_commit(sentry_sink: SentrySink, sentry_dsn: str) -> None:  # noqa: F811
    git = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True)
    if git.returncode != 0:
        pytest.skip("not a git checkout")
    settings = Settings.from_env({"SENTRY_DSN": sentry_dsn})
    assert settings.sentry_release is None
    assert telemetry.init_telemetry(settings, "cli")
    assert sentry_sdk.get_client().options["release"] == git.stdout.strip()


def test_profiles_are_continuous_and_follow_sampled_traces(sentry_sink: SentrySink,  # noqa: F811
                                                            sentry_dsn: str) -> None:  # noqa: F811
    assert telemetry.init_telemetry(settings_for(sentry_dsn, SENTRY_PROFILES_SAMPLE_RATE="1.0"), "web")
    options = sentry_sdk.get_client().options
    assert (options["profile_session_sample_rate"], options["profile_lifecycle"]) == (1.0, "trace")
    assert options["profiles_sample_rate"] is None
    with telemetry.message_trace("whatsapp", "whatsapp.inbound"):
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:
            sum(range(1000))
    telemetry.flush_telemetry(SENT_ON_WIRE_TIMEOUT_S)
    assert sentry_sink.wait_for(lambda: bool(sentry_sink.items("profile_chunk")), SENT_ON_WIRE_TIMEOUT_S)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, 1.0),
    ({"SDR_ENV": "staging"}, 0.3),
    ({"SDR_ENV": "production"}, 0.1),
    ({"SDR_ENV": "production", "SENTRY_TRACES_SAMPLE_RATE": "0.5"}, 0.5),
    ({"SENTRY_TRACES_SAMPLE_RATE": "0"}, 0.0),
])
def test_trace_sample_rate_defaults_per_environment(env: dict[str, str], expected: float) -> None:
    required = production_env(SDR_ENV="", DATABASE_URL="sqlite:///x.db", REDIS_URL="redis://127.0.0.1:6379/0")
    assert telemetry.traces_sample_rate(Settings.from_env({**required, **env})) == expected


# --- One transaction per message ---------------------------------------------------------------

def test_a_message_is_one_transaction_with_child_spans(sink: SentrySink) -> None:
    with telemetry.message_trace("whatsapp", "whatsapp.inbound", budget_ms=5000, stage="budget",
                                 language="pt-BR", flow_version="3") as trace:
        trace.set_lead(LEAD_ID)
        for op in ("sdr.dedupe", "sdr.lock", "sdr.load"):
            with trace.span(op):
                pass
        with trace.span("sdr.engine", stage_before="budget") as span:
            span.set_data("stage_after", "timeline")
        trace.stage_changed("budget", "timeline", 42.5)
        with trace.span("sdr.persist"), trace.span("sdr.render"), trace.span("sdr.nested"):
            pass
        with telemetry.external_call("twilio", timeout_s=5, operation="messages.create"):
            pass
        trace.outcome("qualified")
    sent(sink, lambda: len(sink.transactions()) == 1)

    [transaction] = sink.transactions()
    assert transaction["transaction"] == "whatsapp.inbound"
    assert transaction["transaction_info"] == {"source": "custom"}
    assert transaction["contexts"]["trace"]["op"] == "sdr.message"
    assert transaction["user"] == {"id": LEAD_ID}
    assert transaction["tags"]["channel"] == "whatsapp"
    assert transaction["tags"]["stage"] == "timeline"
    assert transaction["tags"]["language"] == "pt-BR"
    assert transaction["tags"]["outcome"] == "qualified"
    assert transaction["tags"]["process"] == "test"
    assert transaction["contexts"]["conversation"] == {"channel": "whatsapp", "flow_version": "3"}
    spans = spans_of(transaction)
    # The reply cache and TwiML take well under a millisecond: timed for the budget, not spans.
    assert set(spans) == {"sdr.lock", "sdr.load", "sdr.engine", "sdr.persist", "sdr.nested", "sdr.integration"}
    engine = spans["sdr.engine"]
    assert engine["data"]["stage_before"] == "budget"
    assert engine["data"]["stage_after"] == "timeline"
    # Channel, stage, language and flow version are the transaction's, not repeated in every span.
    assert not {"channel", "stage", "language", "flow.version"} & set(engine["data"])
    assert spans["sdr.nested"]["parent_span_id"] == spans["sdr.persist"]["span_id"]
    assert spans["sdr.integration"]["description"] == "twilio messages.create"
    assert spans["sdr.integration"]["data"]["integration"] == "twilio"
    assert engine["timestamp"] >= engine["start_timestamp"]


def test_a_lead_id_that_is_not_a_phone_hash_is_never_set(sink: SentrySink) -> None:
    with telemetry.message_trace("whatsapp", "whatsapp.inbound") as trace:
        trace.set_lead(PHONE)
    sent(sink, lambda: len(sink.transactions()) == 1)

    assert "user" not in sink.transactions()[0]
    assert PHONE.encode() not in sink.raw_bytes()


def test_messages_in_parallel_threads_keep_their_own_lead_and_tags(sink: SentrySink) -> None:
    barrier = threading.Barrier(2)

    def handle(index: int) -> None:
        with telemetry.message_trace("whatsapp", "whatsapp.inbound", stage=f"stage-{index}") as trace:
            trace.set_lead(phone_hash(SECRET, f"+55119876543{index:02d}"))
            barrier.wait(timeout=5)
            if index == 1:
                trace.outcome("declined")
            barrier.wait(timeout=5)
            telemetry.capture_error(RuntimeError(f"failure {index}"), trace.stage, trace.channel)

    threads = [threading.Thread(target=handle, args=(index,)) for index in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # Two errors: "declined" is a metric and a tag, not an event.
    sent(sink, lambda: len(sink.transactions()) == 2 and len(sink.events()) == 2)

    errors = {event["exception"]["values"][0]["value"]: event for event in sink.events() if "exception" in event}
    for index in (1, 2):
        event = errors[f"failure {index}"]
        assert event["user"] == {"id": phone_hash(SECRET, f"+55119876543{index:02d}")}
        assert event["tags"]["stage"] == f"stage-{index}"
    assert errors["failure 1"]["tags"]["outcome"] == "declined"
    assert "outcome" not in errors["failure 2"]["tags"]
    outcomes = {t["tags"]["stage"]: t["tags"].get("outcome") for t in sink.transactions()}
    assert outcomes == {"stage-1": "declined", "stage-2": None}


def test_an_exception_leaving_the_message_is_reported_once_grouped_by_its_stack(sink: SentrySink) -> None:
    with pytest.raises(KeyError), telemetry.message_trace("voice", "voice.turn", stage="role"):
        raise KeyError("missing")
    sent(sink, lambda: len(sink.transactions()) == 1 and len(sink.events()) == 1)

    [event] = sink.events()
    assert "fingerprint" not in event  # Sentry's default grouping: by the code that raised
    assert (event["tags"]["channel"], event["tags"]["stage"]) == ("voice", "role")
    assert event["transaction"] == "voice.turn"
    [transaction] = sink.transactions()
    assert transaction["contexts"]["trace"]["status"] == "internal_error"


def test_an_http_client_error_leaving_the_message_is_not_reported(sink: SentrySink) -> None:
    with pytest.raises(Forbidden), telemetry.message_trace("whatsapp", "whatsapp.inbound"):
        raise Forbidden()
    sent(sink, lambda: len(sink.transactions()) == 1)

    assert sink.events() == []


def test_capture_error_leaves_grouping_to_the_stack_and_tags_stage_and_channel(sink: SentrySink) -> None:
    try:
        raise ConnectionError("crm unreachable")
    except ConnectionError as exc:
        event_id = telemetry.capture_error(exc, "timeline", "whatsapp")
    sent(sink, lambda: len(sink.events()) == 1)

    [event] = sink.events()
    assert event["event_id"] == event_id
    # No fingerprint: two bugs raising the same type are two issues, one bug hit at any stage is one.
    assert "fingerprint" not in event
    assert (event["tags"]["stage"], event["tags"]["channel"]) == ("timeline", "whatsapp")
    assert event["exception"]["values"][0]["type"] == "ConnectionError"
    assert all("vars" not in frame for frame in event["exception"]["values"][0]["stacktrace"]["frames"])


# --- Stages, outcomes, warnings ----------------------------------------------------------------

def test_sentry_logs_are_off_unless_enabled(sink: SentrySink) -> None:
    with telemetry.message_trace("whatsapp", "whatsapp.inbound") as trace:
        trace.stage_changed("budget", "timeline", 42.5)
        logging.getLogger("sdr_agent.test").warning("a warning")
        telemetry.capture_error(RuntimeError("later"), trace.stage, trace.channel)
    sent(sink, lambda: sink.events() and sink.metrics())

    assert sink.logs() == [] and "log" not in sink.item_counts()
    [event] = sink.events()
    assert [c["message"] for c in event["breadcrumbs"]["values"] if c["category"] == "qualification.stage"] == [
        "budget -> timeline"]


@pytest.fixture
def sink_with_logs(sentry_sink: SentrySink, sentry_dsn: str) -> SentrySink:  # noqa: F811 - fixture injection
    """Telemetry initialised against the sink, with SENTRY_ENABLE_LOGS=1."""
    assert telemetry.init_telemetry(settings_for(sentry_dsn, SENTRY_ENABLE_LOGS="1"), "test")
    return sentry_sink


def test_a_stage_change_is_a_breadcrumb_a_log_and_a_metric(sink_with_logs: SentrySink) -> None:
    sink = sink_with_logs
    with telemetry.message_trace("whatsapp", "whatsapp.inbound", language="en") as trace:
        trace.stage_changed("budget", "timeline", 42.5)
        telemetry.capture_error(RuntimeError("later"), trace.stage, trace.channel)
    sent(sink, lambda: sink.events() and sink.logs() and sink.metrics())

    [event] = sink.events()
    crumbs = [c for c in event["breadcrumbs"]["values"] if c["category"] == "qualification.stage"]
    assert crumbs == [{"category": "qualification.stage", "level": "info", "message": "budget -> timeline",
                       "data": {"from": "budget", "to": "timeline", "duration_s": 42.5},
                       "timestamp": crumbs[0]["timestamp"], "type": "default"}]
    assert event["tags"]["stage"] == "timeline"

    [record] = [r for r in sink.logs() if r["body"] == "Lead moved from budget to timeline"]
    assert record["level"] == "info"
    assert attribute(record, "sentry.message.parameter.to_stage") == "timeline"
    assert attribute(record, "channel") == "whatsapp"
    assert attribute(record, "language") == "en"
    assert attribute(record, "stage.previous_duration_s") == 42.5
    assert record["trace_id"] == event["contexts"]["trace"]["trace_id"]

    metrics = {m["name"]: m for m in sink.metrics()}
    entered = metrics["sdr.stage.entered"]
    assert (entered["type"], entered["value"]) == ("counter", 1.0)
    assert attribute(entered, "stage") == "timeline"
    assert attribute(entered, "channel") == "whatsapp"
    # One metric per stage change; the time spent at the stage left is the breadcrumb's duration_s.
    assert set(metrics) == {"sdr.stage.entered"}


def test_an_outcome_is_an_info_event_tagged_with_it(sink: SentrySink) -> None:
    with telemetry.message_trace("whatsapp", "whatsapp.inbound", stage="email") as trace:
        trace.outcome("handoff")
    sent(sink, lambda: messages(sink, "Lead qualification outcome") and sink.metrics())

    [event] = messages(sink, "Lead qualification outcome")
    assert event["level"] == "info"
    assert event["tags"]["outcome"] == "handoff"
    assert event["fingerprint"] == ["qualification-outcome", "handoff"]
    [metric] = [m for m in sink.metrics() if m["name"] == "sdr.lead.outcome"]
    assert attribute(metric, "outcome") == "handoff"


def test_a_qualified_lead_is_a_metric_and_a_tag_not_an_event(sink: SentrySink) -> None:
    with telemetry.message_trace("whatsapp", "whatsapp.inbound", stage="email") as trace:
        trace.outcome("qualified")
    sent(sink, lambda: sink.transactions() and sink.metrics())

    assert sink.events() == []
    assert sink.transactions()[0]["tags"]["outcome"] == "qualified"
    [metric] = [m for m in sink.metrics() if m["name"] == "sdr.lead.outcome"]
    assert attribute(metric, "outcome") == "qualified"


def test_a_message_over_budget_warns_with_the_slowest_span(sink: SentrySink) -> None:
    with telemetry.message_trace("whatsapp", "whatsapp.inbound", budget_ms=30, stage="budget") as trace:
        with trace.span("sdr.lock"):
            time.sleep(0.005)
        with trace.span("sdr.engine"):
            time.sleep(0.05)
    with telemetry.message_trace("whatsapp", "whatsapp.inbound", budget_ms=5000, stage="budget"):
        pass
    sent(sink, lambda: len(sink.transactions()) == 2)

    [warning] = messages(sink, "Message processing exceeded budget")
    assert warning["level"] == "warning"
    assert warning["fingerprint"] == ["processing-budget", "whatsapp"]
    assert warning["tags"]["stage"] == "budget"
    assert warning["extra"]["budget_ms"] == 30
    assert warning["extra"]["duration_ms"] >= 50
    assert warning["extra"]["slowest_span_op"] == "sdr.engine"
    assert warning["extra"]["slowest_span_ms"] >= 50
    assert warning["tags"]["slowest_span"] == "sdr.engine"
    over = [t for t in sink.transactions() if t["tags"].get("budget_exceeded") == "true"]
    assert len(over) == 1
    assert over[0]["contexts"]["trace"]["trace_id"] == warning["contexts"]["trace"]["trace_id"]


def test_lock_wait_and_missing_speech(sink: SentrySink) -> None:
    with telemetry.message_trace("voice", "voice.turn", stage="need") as trace:
        telemetry.lock_wait_exceeded(5200.4, "need", timeout_ms=5000)
        telemetry.no_speech(trace.stage)
        telemetry.capture_error(RuntimeError("after silence"), trace.stage, trace.channel)
    sent(sink, lambda: len(sink.events()) == 2 and sink.metrics())

    [lock] = messages(sink, "Lead lock wait exceeded")
    assert lock["level"] == "warning"
    assert lock["fingerprint"] == ["lock-wait", "voice"]
    assert (lock["tags"]["stage"], lock["tags"]["channel"]) == ("need", "voice")
    assert lock["extra"].items() >= {"waited_ms": 5200, "timeout_ms": 5000}.items()
    [error] = [e for e in sink.events() if "exception" in e]
    crumbs = [c for c in error["breadcrumbs"]["values"] if c["category"] == "voice.no_speech"]
    assert crumbs[0]["level"] == "warning"
    assert crumbs[0]["data"] == {"stage": "need"}
    [metric] = [m for m in sink.metrics() if m["name"] == "sdr.voice.no_speech"]
    assert attribute(metric, "stage") == "need"


# --- External calls ----------------------------------------------------------------------------

@pytest.mark.parametrize("timeout", [
    socket.timeout("timed out"),
    TimeoutError("timed out"),
    requests.exceptions.ConnectTimeout("connect timed out"),
    requests.exceptions.ReadTimeout("read timed out"),
    urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"),  # type: ignore[arg-type]
])
def test_timeout_types_are_recognised(timeout: BaseException) -> None:
    assert telemetry.is_timeout(timeout)
    wrapped = RuntimeError("twilio call failed")
    wrapped.__cause__ = timeout
    assert telemetry.is_timeout(wrapped)


def test_refused_connections_and_other_errors_are_not_timeouts() -> None:
    refused = urllib3.exceptions.NewConnectionError(None, "refused")  # type: ignore[arg-type]
    assert not telemetry.is_timeout(refused)
    assert not telemetry.is_timeout(requests.exceptions.ConnectionError("refused"))
    assert not telemetry.is_timeout(ValueError("bad"))


def test_an_external_timeout_warns_and_is_reraised(sink: SentrySink) -> None:
    slow = SentrySink().start()
    slow.respond_with(delay_s=1.0)
    try:
        with telemetry.message_trace("whatsapp", "whatsapp.inbound", stage="budget"):
            with pytest.raises(requests.exceptions.ReadTimeout):
                with telemetry.external_call("twilio", timeout_s=0.2, operation="messages.create"):
                    TwilioHttpClient().request("POST", f"http://127.0.0.1:{slow.port}/api/1/envelope/",
                                               data={"To": PHONE}, timeout=0.2)
    finally:
        slow.stop()
    sent(sink, lambda: len(sink.transactions()) == 1)

    [warning] = messages(sink, "External call timeout")
    assert warning["level"] == "warning"
    assert warning["tags"]["integration"] == "twilio"
    assert warning["tags"]["timeout"] == "0.2s"
    assert warning["tags"]["stage"] == "budget"
    assert warning["fingerprint"] == ["external-timeout", "twilio"]
    assert warning["extra"]["operation"] == "messages.create"
    assert warning["extra"]["exception_type"] == "ReadTimeout"
    [transaction] = sink.transactions()
    integration = spans_of(transaction)["sdr.integration"]
    assert integration["status"] == "deadline_exceeded"
    assert integration["data"]["timeout_s"] == 0.2


def test_an_external_failure_is_captured_and_reraised(sink: SentrySink) -> None:
    @telemetry.external_call("crm", timeout_s=5)
    def push_lead() -> None:
        raise requests.exceptions.HTTPError("502 Bad Gateway")

    with pytest.raises(requests.exceptions.HTTPError):
        push_lead()
    sent(sink, lambda: len(sink.events()) == 1)

    [event] = sink.events()
    assert event["fingerprint"] == ["external-error", "crm", "HTTPError"]
    assert event["tags"]["integration"] == "crm"
    assert messages(sink, "External call timeout") == []


# --- Thread resets and cron check-ins ----------------------------------------------------------

@pytest.mark.parametrize("reason", ["idle_timeout", "user_requested", "error", "processing_timeout"])
def test_a_thread_reset_is_an_info_event_tagged_with_its_reason(sink: SentrySink, reason: str) -> None:
    telemetry.thread_reset(reason, 93784.56, "timeline")
    sent(sink, lambda: len(sink.events()) == 1)

    [event] = sink.events()
    assert event["message"] == "Conversation thread reset"
    assert event["level"] == "info"
    assert event["tags"]["reason"] == reason
    assert event["extra"].items() >= {"thread_age_s": 93784.6, "stage": "timeline"}.items()
    assert event["fingerprint"] == ["thread-reset", reason]
    assert event["tags"]["stage"] == "timeline"


def test_a_thread_reset_after_an_error_is_info_naming_the_exception_type(sink: SentrySink) -> None:
    # The error itself is its own error event (capture_error); the reset stays out of the error stream.
    try:
        {}["stage"]
    except KeyError as exc:
        telemetry.thread_reset("error", 12.0, "need", exc)
    sent(sink, lambda: len(sink.events()) == 1)

    [event] = sink.events()
    assert event["level"] == "info"
    assert event["message"] == "Conversation thread reset"
    assert event["tags"]["reason"] == "error"
    assert event["extra"].items() >= {"thread_age_s": 12.0, "stage": "need", "exception_type": "KeyError"}.items()
    assert "exception" not in event
    assert event["fingerprint"] == ["thread-reset", "error"]


def test_a_thread_reset_from_the_sweep_carries_the_lead_and_channel(sink: SentrySink) -> None:
    telemetry.thread_reset("idle_timeout", 90000.0, "budget", lead_id=LEAD_ID, channel="voice")
    sent(sink, lambda: len(sink.events()) == 1)

    [event] = sink.events()
    assert event["user"] == {"id": LEAD_ID}
    assert event["tags"]["channel"] == "voice"


def test_monitor_job_sends_cron_check_ins(sink: SentrySink) -> None:
    @telemetry.monitor_job("nightly-export", schedule="0 3 * * *", max_runtime_min=10)
    def export(fail: bool) -> None:
        if fail:
            raise RuntimeError("export failed")

    export(False)
    with pytest.raises(RuntimeError):
        export(True)
    # Only this job's: a sweep thread an earlier test left running may check in too.
    def exports() -> list[dict]:
        return [check_in for check_in in sink.check_ins() if check_in["monitor_slug"] == "nightly-export"]

    sent(sink, lambda: len(exports()) == 4)

    check_ins = exports()
    assert [c["status"] for c in check_ins] == ["in_progress", "ok", "in_progress", "error"]
    assert check_ins[0]["monitor_config"] == {"schedule": {"type": "crontab", "value": "0 3 * * *"},
                                              "max_runtime": 10}
    assert check_ins[1]["check_in_id"] == check_ins[0]["check_in_id"]
    assert check_ins[1]["environment"] == "development"


# --- Flask requests ----------------------------------------------------------------------------

def make_app() -> Flask:
    """A small app shaped like ours: health check, static file, a page and the WhatsApp webhook."""
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz() -> str:
        return "ok"

    @app.get("/static/app.css")
    def static_file() -> str:
        return "body {}"

    @app.get("/admin/leads")
    def leads() -> str:
        return "leads"

    @app.post("/twilio/whatsapp")
    def whatsapp() -> str:
        with telemetry.message_trace("whatsapp", "whatsapp.inbound", stage="budget") as trace:
            trace.set_lead(LEAD_ID)
            with trace.span("sdr.engine"):
                pass
        return "<Response/>"

    instrument_app(app)
    return app


def test_health_checks_and_static_files_are_never_traced(sink: SentrySink) -> None:
    client = make_app().test_client()
    for _ in range(3):
        assert client.get("/healthz").status_code == 200
        assert client.get("/static/app.css").status_code == 200
    assert client.get("/admin/leads").status_code == 200
    sent(sink, lambda: len(sink.transactions()) >= 1)

    time.sleep(0.2)
    [transaction] = sink.transactions()
    assert transaction["transaction"] == "/admin/leads"
    assert transaction["contexts"]["trace"]["op"] == "http.server"


def test_the_webhook_request_is_the_message_transaction(sink: SentrySink) -> None:
    client = make_app().test_client()
    assert client.post("/twilio/whatsapp", data={"From": f"whatsapp:{PHONE}", "Body": TEXT}).status_code == 200
    sent(sink, lambda: len(sink.transactions()) == 1)

    time.sleep(0.2)
    [transaction] = sink.transactions()
    assert transaction["transaction"] == "whatsapp.inbound"
    assert transaction["contexts"]["trace"]["op"] == "sdr.message"
    assert transaction["user"] == {"id": LEAD_ID}
    assert transaction["tags"]["channel"] == "whatsapp"
    assert transaction["request"]["method"] == "POST"
    assert transaction["request"]["url"].endswith("/twilio/whatsapp")
    assert "data" not in transaction["request"]
    assert set(spans_of(transaction)) == {"sdr.engine"}


@pytest.mark.parametrize(("rate", "header_flag", "traced"), [
    ("0", "-1", True),
    ("1", "-0", False),
    ("0", "", False),
    ("1", "", True),
])
def test_an_upstream_sampling_decision_is_honoured(sentry_sink: SentrySink, sentry_dsn: str,  # noqa: F811
                                                   rate: str, header_flag: str, traced: bool) -> None:
    assert telemetry.init_telemetry(settings_for(sentry_dsn, SENTRY_TRACES_SAMPLE_RATE=rate), "web")
    headers = {"sentry-trace": f"{'a' * 32}-{'b' * 16}{header_flag}"} if header_flag else {}
    assert make_app().test_client().get("/admin/leads", headers=headers).status_code == 200
    telemetry.capture_error(RuntimeError("marker"), None, None)
    sent(sentry_sink, lambda: len(sentry_sink.events()) == 1)

    assert len(sentry_sink.transactions()) == (1 if traced else 0)
    if traced and header_flag:
        assert sentry_sink.transactions()[0]["contexts"]["trace"]["trace_id"] == "a" * 32


def test_the_envelope_trace_header_keeps_the_dsn_public_key(sentry_sink: SentrySink) -> None:  # noqa: F811
    # Real public keys are 32 hex characters, which the token rule would otherwise filter.
    public_key = "0123456789abcdef" * 2
    dsn = f"http://{public_key}@127.0.0.1:{sentry_sink.port}/1"
    assert telemetry.init_telemetry(settings_for(dsn, SENTRY_TRACES_SAMPLE_RATE="1"), "web")
    with telemetry.message_trace("whatsapp", "whatsapp.inbound"):
        telemetry.capture_error(RuntimeError("inside"), None, "whatsapp")
    sent(sentry_sink, lambda: sentry_sink.transactions() and sentry_sink.events())

    traced = [env for env in sentry_sink.envelopes() if env.items[0].type in ("event", "transaction")]
    assert len(traced) == 2
    assert {env.headers["trace"]["public_key"] for env in traced} == {public_key}


def test_a_slack_webhook_credential_never_leaves_in_spans_or_breadcrumbs(sink: SentrySink) -> None:
    receiver = LoopbackServer(ok_handler(), "slack").start()
    url = f"http://127.0.0.1:{receiver.port}/services/T0AB12CD3/B0CD45EF6/{SLACK_SECRET}"
    try:
        with telemetry.message_trace("whatsapp", "outbox.handoff", op=telemetry.OUTBOUND_OP):
            with telemetry.external_call("handoff", timeout_s=2, operation="POST"):
                requests.post(url, data=b"{}", timeout=2)
            telemetry.capture_error(RuntimeError("after the post"), None, None)
    finally:
        receiver.stop()
    sent(sink, lambda: sink.transactions() and sink.events())

    [span] = [s for s in sink.transactions()[0]["spans"] if s["op"] == "http.client"]
    assert span["description"].endswith("/services/[Filtered]")
    [crumb] = [c for c in sink.events()[0]["breadcrumbs"]["values"] if c["category"] == "httplib"]
    assert crumb["data"]["url"].endswith("/services/[Filtered]")
    assert SLACK_SECRET.encode() not in sink.raw_bytes() and b"B0CD45EF6" not in sink.raw_bytes()


def ok_handler() -> type[BaseHTTPRequestHandler]:
    """An HTTP handler answering 200 to every POST."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return

    return Handler


# --- Spotlight ---------------------------------------------------------------------------------

def test_spotlight_in_development_receives_scrubbed_events_without_a_dsn(
        sentry_sink: SentrySink, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("SENTRY_SPOTLIGHT", f"http://127.0.0.1:{sentry_sink.port}/api/spotlight/envelope/")
    assert telemetry.init_telemetry(settings_for(None), "web") is True
    telemetry.capture_error(ValueError(f"lead {PHONE} wrote {EMAIL}"), "budget", "whatsapp")
    assert sentry_sink.wait_for(lambda: len(sentry_sink.events()) == 1, SENT_ON_WIRE_TIMEOUT_S)

    assert sentry_sink.envelopes()[0].project == "spotlight"
    assert PHONE.encode() not in sentry_sink.raw_bytes()
    assert EMAIL.encode() not in sentry_sink.raw_bytes()


def test_spotlight_is_ignored_outside_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENTRY_SPOTLIGHT", "1")
    production = Settings.from_env(production_env(DATABASE_URL="sqlite:///x.db", REDIS_URL="redis://127.0.0.1:6379/0"))
    assert telemetry.init_telemetry(production, "web") is False


# --- Scrubbing, unit level ---------------------------------------------------------------------

@pytest.mark.parametrize("secret", [
    "+5511987654321", "whatsapp:+5511987654321", "+55 11 98765-4321", "+55 (11) 98765-4321",
    "(11) 98765-4321", "11 98765-4321", "11987654321", "5511987654321", "(11) 3333-4444",
    "+1 415 555 0123", "+1 (415) 555-0123", "(415) 555-0123", "415-555-0123", "415.555.0123",
    "ana.souza@example.com", "ana.souza%40example.com",
    "123.456.789-09", "12345678909", "12.345.678/0001-95", "12345678000195",
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "3782 822463 10005",
    "AC0123456789abcdef0123456789abcdef", "SK0123456789abcdef0123456789abcdef",
    "0123456789abcdef0123456789abcdef", "Bearer eyJhbGciOi.payload.sig", "sk_live_51HxYzAbCdEf",
    "key=abc123xyz", "token=abc", "password=hunter22",
])
def test_scrub_text_removes_personal_data_and_secrets(secret: str) -> None:
    scrubbed = scrub_text(f"lead said: {secret} (end)")
    assert FILTERED in scrubbed
    assert scrubbed.startswith("lead said: ") and scrubbed.endswith(" (end)")
    for fragment in (secret, secret.split("=")[-1], secret.split(" ")[-1]):
        if len(fragment) >= 4:
            assert fragment not in scrubbed


@pytest.mark.parametrize("kept", [
    LEAD_ID, "123e4567-e89b-12d3-a456-426614174000", "0af7651916cd43dd", "2024-01-15T10:20:30.123456Z",
    "2024-01-15 10:20:30", "15/01/2024", "2.75.0", "took 1234.5 ms", "budget 3000 ms", "192.168.100.200",
    "SM0123456789abcdef0123456789abcdef", f"sdr:lock:{LEAD_ID}", "from=budget to=timeline",
    "SELECT leads.id FROM leads WHERE leads.phone_hash = %(phone_hash_1)s LIMIT %(param_1)s",
    "invalid token provided", "whatsapp.inbound",
])
def test_scrub_text_keeps_ids_hashes_and_timings(kept: str) -> None:
    assert scrub_text(kept) == kept


def test_scrub_data_filters_twilio_fields_and_sensitive_keys_but_keeps_numbers() -> None:
    data = {
        "From": "whatsapp:+5511987654321", "To": "whatsapp:+14155550123", "Body": "oi", "ProfileName": "Ana",
        "WaId": "5511987654321", "SpeechResult": "meu nome", "MediaUrl0": "https://api.twilio.com/m/1",
        "X-Twilio-Signature": "abc=", "auth_token": "x", "email": "a@b.co",
        "from": "budget", "to": "timeline", "duration_s": 12.5, "thread.id": "140234567890123",
        "trace_id": "0123456789abcdef0123456789abcdef", "span_id": "1234567812345678",
        "timestamp": "2024-01-15T10:20:30Z", "count": 5511987654321,
        "frames": [{"vars": {"phone": "+5511987654321"}, "context_line": "x = 11987654321", "lineno": 3}],
    }
    scrubbed = scrub_data(data)
    for key in ("From", "To", "Body", "ProfileName", "WaId", "SpeechResult", "MediaUrl0", "X-Twilio-Signature",
                "auth_token", "email"):
        assert scrubbed[key] == FILTERED
    for key in ("from", "to", "duration_s", "thread.id", "trace_id", "span_id", "timestamp", "count"):
        assert scrubbed[key] == data[key]
    assert scrubbed["frames"] == [{"context_line": "x = 11987654321", "lineno": 3}]


def test_scrub_event_keeps_method_path_and_lead_id_only() -> None:
    event = {
        "request": {
            "method": "POST", "url": "https://sdr.example.com/twilio/whatsapp?From=%2B5511987654321",
            "query_string": "From=%2B5511987654321&ref=ad", "data": {"Body": "oi"}, "cookies": {"session": "x"},
            "headers": {"X-Twilio-Signature": "sig", "Authorization": "Basic QUM6dG9rZW4=", "Cookie": "a=b",
                        "Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": "203.0.113.9",
                        "User-Agent": "TwilioProxy/1.1"},
            "env": {"SERVER_NAME": "sdr.example.com", "REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"id": LEAD_ID, "email": "ana@example.com", "ip_address": "203.0.113.9", "username": "ana"},
        "extra": {"rq-job": {"job_id": "j1", "func": "send", "description": "send('+5511987654321', 'oi Ana')"}},
        "exception": {"values": [{"type": "ValueError", "value": "bad phone +5511987654321"}]},
        "spans": [{"op": "db", "description": "SELECT 1", "start_timestamp": 1.5, "timestamp": 2.5,
                   "data": {"stage_before": "budget"}}],
    }
    scrubbed = scrub_event(event)
    assert scrubbed["request"] == {
        "method": "POST", "url": "https://sdr.example.com/twilio/whatsapp",
        "query_string": f"From={FILTERED}&ref={FILTERED}",
        "headers": {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "TwilioProxy/1.1"},
        "env": {"SERVER_NAME": "sdr.example.com"},
    }
    assert scrubbed["user"] == {"id": LEAD_ID}
    assert scrubbed["extra"]["rq-job"] == {"job_id": "j1", "func": "send", "description": FILTERED}
    assert scrubbed["exception"]["values"][0]["value"] == f"bad phone {FILTERED}"
    assert scrubbed["spans"] == event["spans"]
    assert scrub_event({"user": {"ip_address": "203.0.113.9"}}) == {}


def test_logs_and_metrics_are_scrubbed_but_keep_their_shape() -> None:
    record = {"body": "lead +5511987654321 wrote", "severity_text": "error", "trace_id": "a" * 32,
              "time_unix_nano": 1718000000123456789,
              "attributes": {"sentry.message.parameter.0": "ana@example.com", "channel": "whatsapp"}}
    assert scrub_log(record) == {**record, "body": f"lead {FILTERED} wrote",
                                 "attributes": {"sentry.message.parameter.0": FILTERED, "channel": "whatsapp"}}
    metric = {"name": "sdr.stage.entered", "value": 1.0, "attributes": {"stage": "email", "phone": "+5511987654321"}}
    assert scrub_metric(metric) == {**metric, "attributes": {"stage": "email", "phone": FILTERED}}


def test_known_values_are_removed_in_every_spelling_as_whole_words() -> None:
    known = known_values([NAME, TEXT, "sim", None, ""])
    assert known is not None
    text = f"{NAME.upper()} / {quote(NAME)} / {quote_plus(NAME)} / {json.dumps(TEXT)[1:-1]} / {TEXT} / simulator sim"
    assert scrub_text(text, known) == f"{FILTERED} / {FILTERED} / {FILTERED} / {FILTERED} / {FILTERED} / simulator {FILTERED}"


def test_short_names_and_companies_are_removed_as_whole_words_only() -> None:
    known = known_values(["Rui", "Bia", "3M", "Jo"])
    text = "Obrigado, Rui! / Ruivo / BIA, Bianca / 3M, 3M3 / Jo / joint / voice ok"
    assert scrub_text(text, known) == (f"Obrigado, {FILTERED}! / Ruivo / {FILTERED}, Bianca / {FILTERED}, 3M3 / "
                                       f"{FILTERED} / joint / voice ok")


def test_a_lead_who_wrote_ok_leaves_statuses_alone() -> None:
    event = {"contexts": {"trace": {"status": "ok", "op": "sdr.message"}}, "message": "ok then", "level": "info"}
    assert scrub_event(event, known_values(["ok", "info"])) == {
        "contexts": {"trace": {"status": "ok", "op": "sdr.message"}}, "message": f"{FILTERED} then", "level": "info"}
    assert known_values(["1", "50", "x", None]) is None  # digits and single letters identify no one


def test_known_values_match_whatever_case_insensitive_matching_would() -> None:
    # The quick check before the pattern must never miss a spelling the pattern would catch.
    known = known_values(["İstanbul Souſa ΣΊΣΥΦΟΣ Straße"])
    assert known is not None
    assert scrub_text("from istanbul sousa σίσυφοσ strasse", known) == "from istanbul sousa σίσυφοσ strasse"
    assert scrub_text("lead: ıSTANBUL SOUSA σίσυφος STRAßE!", known) == f"lead: {FILTERED}!"


def test_remembered_scrubbing_never_carries_one_messages_known_values_to_another() -> None:
    # Short strings have their scrubbed form remembered; known values are per message and must
    # still apply, and stop applying, whatever was scrubbed before.
    acme = known_values(["Acme Ltda"])
    assert scrub_text("Acme Ltda") == "Acme Ltda"
    assert scrub_text("Acme Ltda", acme) == FILTERED
    assert scrub_text("Acme Ltda") == "Acme Ltda"
    assert scrub_text("ACME LTDA", acme) == FILTERED
    for text in ("call +5511987654321", "x" * 40 + " +5511987654321 " + "y" * 40):  # remembered, and too long to be
        assert scrub_text(text) == scrub_text(text) == text.replace("+5511987654321", FILTERED)
    long_name = "Empresa de Automação" + " Comercial" * 8
    assert scrub_text(f"lead works at {long_name}", known_values([long_name])) == f"lead works at {FILTERED}"


def test_read_only_mappings_are_scrubbed_like_dicts() -> None:
    frozen = MappingProxyType({"phone": "+5511987654321", "note": {"text": "mail ana@example.com"}})
    assert scrub_data(frozen) == {"phone": FILTERED, "note": {"text": f"mail {FILTERED}"}}


def test_case_folding_agrees_with_case_insensitive_matching_for_every_cased_character() -> None:
    cased = [chr(point) for point in range(0x110000)
             if not 0xD800 <= point < 0xE000 and chr(point).lower() != chr(point).upper()]
    haystack = "".join(cased) + "ı\u017f\u0345\u1fbe\u1e9b"  # characters matched through re's extra equivalences
    for char in cased:
        for match in re.finditer(re.escape(char), haystack, re.IGNORECASE):
            assert _fold(match.group()) == _fold(char), (hex(ord(char)), hex(ord(match.group())))


def test_sink_parses_length_prefixed_and_newline_terminated_items() -> None:
    body = b'{"event_id":"x"}\n{"type":"event","length":7}\n{"a":1}\n{"type":"log"}\n{"items":[]}\n'
    headers, items = parse_envelope(body)
    assert headers == {"event_id": "x"}
    assert [(i.type, i.payload) for i in items] == [("event", {"a": 1}), ("log", {"items": []})]


def test_sink_can_answer_with_errors(sink: SentrySink) -> None:
    sink.respond_with(status=500)
    telemetry.capture_error(RuntimeError("first"), None, None)
    sent(sink, lambda: len(sink.events()) == 1)
    assert sink.request_count >= 1
    sink.clear()
    assert (sink.items(), sink.raw_bytes(), sink.request_count) == ([], b"", 0)


# --- End to end: nothing personal leaves the process -------------------------------------------

def make_leaky_app() -> Flask:
    """A webhook that puts the lead's data everywhere telemetry could pick it up."""
    app = Flask(__name__)
    form_fields = ("From", "Body", "ProfileName", "WaId")

    @app.post("/twilio/whatsapp")
    def whatsapp() -> str:
        phone, text, name, _ = (request.form[field] for field in form_fields)
        email, cpf = request.args["email"], request.args["cpf"]
        with telemetry.message_trace("whatsapp", "whatsapp.inbound", stage="name", language="pt-BR") as trace:
            trace.set_lead(LEAD_ID)
            # What the conversation service knows and no pattern can recognise: name and words.
            trace.redact(name, text)
            sentry_sdk.add_breadcrumb(category="engine", message=f"answer {text}",
                                      data={"lead": name, "contact": f"{phone} {email}", "doc": cpf})
            sentry_sdk.set_extra("lead", {"who": name, "phone": phone, "note": f"{email} / {cpf} / {text}"})
            with trace.span("sdr.engine", answer=f"{name} {phone}", email=email) as span:
                span.set_data("note", f"{cpf} {text}")
            logging.getLogger("sdr_agent.e2e").error("lead %s (%s, %s, %s) wrote %s", name, phone, email, cpf, text)
            fail(name, phone, email, cpf, text)
        return "<Response/>"

    instrument_app(app)
    return app


def fail(*values: str) -> None:
    """Raise an error whose message carries every value."""
    raise ValueError("cannot qualify " + " | ".join(values))


def test_no_personal_data_reaches_sentry_in_any_form(sink_with_logs: SentrySink) -> None:
    sink = sink_with_logs
    client = make_leaky_app().test_client()
    response = client.post(
        f"/twilio/whatsapp?email={quote(EMAIL)}&cpf={quote(CPF)}&phone={quote(PHONE)}",
        data={"From": f"whatsapp:{PHONE}", "Body": TEXT, "ProfileName": NAME, "WaId": PHONE.lstrip("+")},
        headers={"X-Twilio-Signature": "c2lnbmF0dXJl", "Authorization": "Basic QUM6dG9rZW4=", "Cookie": "sid=1"},
    )
    assert response.status_code == 500
    sent(sink, lambda: sink.transactions() and sink.logs() and sink.events())

    # The test is only meaningful if each channel delivered something.
    errors = [e for e in sink.events() if "exception" in e]
    assert len(errors) == 1, "the Flask integration's second report of the same exception is deduplicated"
    assert "fingerprint" not in errors[0]
    assert errors[0]["exception"]["values"][0]["value"].count(FILTERED) == 5
    assert any(e.get("logger") == "sdr_agent.e2e" for e in sink.events())
    assert any(FILTERED in str(r["body"]) for r in sink.logs())
    [transaction] = sink.transactions()
    assert spans_of(transaction)["sdr.engine"]["data"]["email"] == FILTERED
    # A transaction's request is its method and URL; the error's keeps the allowed headers only.
    assert set(transaction["request"]) <= {"method", "url", "query_string"}
    assert errors[0]["request"]["headers"].get("X-Twilio-Signature") is None

    raw = sink.raw_bytes()
    lowered = raw.lower()
    for value in (PHONE, NAME, EMAIL, CPF, TEXT, "Souza", "licenças", "c2lnbmF0dXJl", "QUM6dG9rZW4="):
        for form in spellings(value):
            assert form.encode() not in raw, f"{form!r} was sent"
            assert form.lower().encode() not in lowered, f"{form!r} was sent (any case)"
