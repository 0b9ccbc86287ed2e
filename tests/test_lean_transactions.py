"""Traced messages' transactions: trimmed of the SDK's defaults, serialised on the fast path, same on the wire."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest
import sentry_sdk
from sentry_sdk.serializer import global_repr_processors
from sentry_sdk.serializer import serialize as sdk_serialize
from sentry_sdk.utils import AnnotatedValue, format_timestamp

from sdr_agent import telemetry
from sdr_agent.config import Settings
from sdr_agent.lean_transaction import trim_transaction
from sdr_agent.plain_serializer import MAX_DEPTH, fast_serializer
from tests.sentry_fixtures import clean_sdk, sentry_dsn, sentry_sink  # noqa: F401 - pytest fixtures
from tests.sentry_sink import SentrySink

LEAD_ID = "a" * 64
SDK = {"name": "sentry.python", "version": "2.75.0"}
STARTED = datetime(2026, 12, 5, 14, 0, 0, 123456, tzinfo=timezone.utc)


pytestmark = pytest.mark.usefixtures("clean_sdk")


def transaction_event() -> dict[str, Any]:
    """A transaction as the SDK hands it to the event processors: datetimes, thread data, defaults."""
    thread = {"thread.id": "140234567890123", "thread.name": "MainThread"}
    return {
        "type": "transaction", "transaction": "whatsapp.inbound", "transaction_info": {"source": "custom"},
        "contexts": {
            "trace": {"trace_id": "ab" * 16, "span_id": "cd" * 8, "parent_span_id": None, "op": "sdr.message",
                      "description": None, "origin": "auto.http.sdr", "status": "ok",
                      "data": {**thread, "http.response.status_code": 200}},
            "runtime": {"name": "CPython", "version": "3.11.7"},
            "conversation": {"channel": "whatsapp", "flow_version": "default-b2b:1"},
        },
        "tags": {"channel": "whatsapp", "stage": "budget"},
        "timestamp": STARTED + timedelta(milliseconds=5), "start_timestamp": STARTED,
        "spans": [
            {"trace_id": "ab" * 16, "span_id": "ef" * 8, "parent_span_id": "cd" * 8, "same_process_as_parent": True,
             "op": "sdr.lock", "description": "lead lock", "start_timestamp": STARTED,
             "timestamp": STARTED + timedelta(milliseconds=1), "origin": "manual",
             "data": {**thread, "lock.acquired": True}},
            {"trace_id": "ab" * 16, "span_id": "12" * 8, "parent_span_id": "cd" * 8, "same_process_as_parent": True,
             "op": "gen_ai.chat", "description": "chat gpt-4o-mini", "start_timestamp": STARTED,
             "timestamp": STARTED + timedelta(milliseconds=3), "origin": "auto.ai", "status": "ok",
             "data": {**thread, "gen_ai.response.finish_reasons": ["stop"], "gen_ai.usage.total_tokens": 42,
                      "cost": 0.25, "note": "ação é já"}},
        ],
        "measurements": {},
        "extra": {"sys.argv": ["gunicorn", "app:app"]},
        "user": {"id": LEAD_ID},
        "request": {"method": "POST", "url": "http://localhost/twilio/whatsapp"},
    }


def serializer(sdk: Callable[..., dict[str, Any]] = sdk_serialize) -> Callable[..., dict[str, Any]]:
    """The fast serialiser in front of `sdk`, as telemetry installs it."""
    return fast_serializer(sdk, format_timestamp, global_repr_processors)


# --- Trimming ----------------------------------------------------------------------------------

def test_a_transaction_loses_the_defaults_nobody_reads() -> None:
    event = trim_transaction(transaction_event(), SDK, keep_threads=False)

    assert event["sdk"] == SDK
    assert set(event["contexts"]) == {"trace", "conversation"}
    assert event["contexts"]["trace"]["data"] == {"http.response.status_code": 200}
    assert "parent_span_id" not in event["contexts"]["trace"] and "description" not in event["contexts"]["trace"]
    assert "extra" not in event and "measurements" not in event
    lock, chat = event["spans"]
    assert lock == {"trace_id": "ab" * 16, "span_id": "ef" * 8, "parent_span_id": "cd" * 8, "op": "sdr.lock",
                    "description": "lead lock", "start_timestamp": STARTED,
                    "timestamp": STARTED + timedelta(milliseconds=1), "data": {"lock.acquired": True}}
    # What is not a default stays: another origin, a status, the span's own data.
    assert chat["origin"] == "auto.ai" and chat["status"] == "ok"
    assert chat["data"]["gen_ai.usage.total_tokens"] == 42 and "thread.id" not in chat["data"]


def test_with_profiling_each_span_keeps_its_thread() -> None:
    event = trim_transaction(transaction_event(), SDK, keep_threads=True)

    assert all(span["data"]["thread.id"] == "140234567890123" for span in event["spans"])
    assert event["contexts"]["trace"]["data"]["thread.name"] == "MainThread"


def test_other_events_are_left_whole() -> None:
    error = {"type": "error", "contexts": {"runtime": {"name": "CPython"}}, "extra": {"sys.argv": ["app"]},
             "message": "boom"}
    assert trim_transaction(dict(error), SDK, keep_threads=False) == error
    message = {"message": "Lead qualification outcome", "extra": {"sys.argv": ["app"]}}
    assert trim_transaction(dict(message), SDK, keep_threads=False) == message


# --- The fast serialiser -----------------------------------------------------------------------

def test_a_plain_transaction_serialises_exactly_as_the_sdk_would() -> None:
    calls: list[dict[str, Any]] = []

    def sdk(event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        calls.append(event)
        return sdk_serialize(event, **kwargs)

    event = trim_transaction(transaction_event(), SDK, keep_threads=False)
    fast = serializer(sdk)(event, max_request_body_size="never", max_value_length=None, custom_repr=None)

    assert calls == [], "a plain transaction takes the fast path"
    assert fast == sdk_serialize(trim_transaction(transaction_event(), SDK, keep_threads=False),
                                 max_request_body_size="never", max_value_length=None)
    assert fast["spans"][0]["start_timestamp"] == "2026-12-05T14:00:00.123456Z"
    assert fast is not event and fast["spans"] is not event["spans"]


class Opaque:
    """An object only the SDK's serialiser knows how to show."""

    def __repr__(self) -> str:
        return "<opaque>"


def deep(levels: int) -> dict[str, Any]:
    """A dict nested `levels` deep."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        value = {"next": value}
    return value


def cyclic() -> dict[str, Any]:
    """A dict that contains itself."""
    value: dict[str, Any] = {"name": "loop"}
    value["self"] = value
    return value


@pytest.mark.parametrize("change", [
    pytest.param(lambda event: event["spans"][0]["data"].update(obj=Opaque()), id="object"),
    pytest.param(lambda event: event["spans"][0]["data"].update(ratio=math.nan), id="nan"),
    pytest.param(lambda event: event["spans"][0]["data"].update(raw=b"\xff\x00"), id="bytes"),
    pytest.param(lambda event: event["tags"].update({1: "numeric key"}), id="non-string key"),
    pytest.param(lambda event: event.update(extra={f"k{n}": n for n in range(15)}), id="extra databag"),
    pytest.param(lambda event: event["request"].update(data={"Body": "oi"}), id="request body"),
    pytest.param(lambda event: event.update(spans=AnnotatedValue(event["spans"], {"len": 9})), id="annotated"),
    pytest.param(lambda event: event["contexts"]["conversation"].update(deep=deep(MAX_DEPTH)), id="deep"),
    pytest.param(lambda event: event["contexts"]["conversation"].update(loop=cyclic()), id="cycle"),
    pytest.param(lambda event: event.update(type="error"), id="not a transaction"),
])
def test_anything_else_is_the_sdks_serialiser_unchanged(change: Callable[[dict[str, Any]], None]) -> None:
    calls: list[dict[str, Any]] = []

    def sdk(event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        calls.append(event)
        return sdk_serialize(event, **kwargs)

    event = trim_transaction(transaction_event(), SDK, keep_threads=False)
    change(event)

    assert serializer(sdk)(event, max_request_body_size="never", max_value_length=None) == \
        sdk_serialize(event, max_request_body_size="never", max_value_length=None)
    assert len(calls) == 1


def test_a_length_limit_is_the_sdks_to_apply() -> None:
    calls: list[dict[str, Any]] = []

    def sdk(event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        calls.append(event)
        return sdk_serialize(event, **kwargs)

    serializer(sdk)(transaction_event(), max_value_length=10)
    assert len(calls) == 1


# --- On the wire -------------------------------------------------------------------------------

def test_a_traced_message_arrives_lean_and_its_errors_whole(sentry_sink: SentrySink,  # noqa: F811
                                                           sentry_dsn: str) -> None:  # noqa: F811
    settings = Settings.from_env({"SENTRY_DSN": sentry_dsn, "SENTRY_RELEASE": "test-release"})
    assert telemetry.init_telemetry(settings, "test")
    with telemetry.message_trace("whatsapp", "whatsapp.inbound", stage="budget", language="pt-BR") as trace:
        trace.set_lead(LEAD_ID)
        with trace.span("sdr.lock") as span:
            span.set_data("lock.acquired", True)
        with trace.span("sdr.engine"):
            pass
        telemetry.capture_error(ValueError("engine failed"), "budget", "whatsapp")
    telemetry.flush_telemetry(10.0)
    assert sentry_sink.wait_for(lambda: sentry_sink.transactions() and sentry_sink.events(), 10.0)

    [transaction] = sentry_sink.transactions()
    assert transaction["sdk"] == {"name": sentry_sdk.client.SDK_INFO["name"], "version": sentry_sdk.VERSION}
    assert "runtime" not in transaction["contexts"] and "extra" not in transaction
    assert "data" not in transaction["contexts"]["trace"] or "thread.id" not in transaction["contexts"]["trace"]["data"]
    spans = {span["op"]: span for span in transaction["spans"]}
    assert spans["sdr.lock"]["data"] == {"lock.acquired": True}
    assert "data" not in spans["sdr.engine"] and "origin" not in spans["sdr.engine"]
    assert spans["sdr.engine"]["start_timestamp"] <= spans["sdr.engine"]["timestamp"]
    assert transaction["user"] == {"id": LEAD_ID} and transaction["tags"]["stage"] == "budget"

    [error] = sentry_sink.events()
    assert error["contexts"]["runtime"]["name"] == "CPython"
    assert "sys.argv" in error["extra"]
    assert "logging" in error["sdk"]["integrations"]
