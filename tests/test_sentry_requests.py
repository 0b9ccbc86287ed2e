"""The request wrapper that replaces the SDK's Flask integration, and counters summed in the process."""
from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import sentry_sdk
from flask import Flask, abort

from sdr_agent import telemetry
from sdr_agent.config import Settings
from sdr_agent.metric_tally import MetricTally
from sdr_agent.phone import phone_hash
from sdr_agent.telemetry_web import instrument_app
from tests.sentry_fixtures import clean_sdk, sentry_dsn, sentry_sink  # noqa: F401 - pytest fixtures
from tests.sentry_sink import SentrySink

WAIT_S = 10.0
LEAD_ID = phone_hash("test-phone-hash-secret", "+5511987654321")
OTHER_LEAD_ID = phone_hash("test-phone-hash-secret", "+5511912345678")
SEARCH = "Quintessa"
log = logging.getLogger("test_sentry_requests")
log.setLevel(logging.INFO)  # INFO records become breadcrumbs


pytestmark = pytest.mark.usefixtures("clean_sdk")


def start(dsn: str, rate: str) -> None:
    """Telemetry against the sink at this traces sample rate."""
    settings = Settings.from_env({"SENTRY_RELEASE": "test-release", "SENTRY_DSN": dsn,
                                  "SENTRY_TRACES_SAMPLE_RATE": rate})
    assert telemetry.init_telemetry(settings, "test")


def make_app() -> Flask:
    """A webhook that is one message, an admin page that fails, and a page that logs."""
    app = Flask(__name__)

    @app.post("/twilio/whatsapp")
    def whatsapp() -> str:
        with telemetry.message_trace("whatsapp", "whatsapp.inbound", stage="budget") as trace:
            trace.set_lead(LEAD_ID)
            with trace.span("sdr.engine"):
                trace.stage_changed("budget", "timeline", 3.0)
        return "<Response/>"

    @app.get("/admin/leads/<lead_id>")
    def lead_page(lead_id: str) -> str:
        log.info("opened a lead page")
        if lead_id == "broken":
            raise RuntimeError("the dashboard broke")
        if lead_id == "missing":
            abort(404)
        return "lead"

    instrument_app(app)
    return app


def delivered(sink: SentrySink, predicate: Any) -> None:
    telemetry.flush_telemetry(WAIT_S)
    assert sink.wait_for(predicate, WAIT_S), "expected telemetry never reached the sink"


def test_an_untraced_webhook_starts_no_transaction_and_no_session(sentry_sink: SentrySink, sentry_dsn: str,  # noqa: F811
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    start(sentry_dsn, "0")
    started: list[Any] = []
    real_start = sentry_sdk.Scope.start_transaction

    def counting(self: sentry_sdk.Scope, *args: Any, **kwargs: Any) -> Any:
        started.append(kwargs.get("name") or (args[0].name if args else None))
        return real_start(self, *args, **kwargs)

    monkeypatch.setattr(sentry_sdk.Scope, "start_transaction", counting)
    client = make_app().test_client()
    for _ in range(3):
        assert client.post("/twilio/whatsapp").status_code == 200
    telemetry.capture_error(RuntimeError("marker"), None, None)
    delivered(sentry_sink, lambda: sentry_sink.events())

    # Neither the request nor its message opened a transaction only to drop it.
    assert started == []
    assert sentry_sink.transactions() == []
    time.sleep(0.2)
    assert "session" not in sentry_sink.item_counts() and "sessions" not in sentry_sink.item_counts()


def test_a_traced_webhook_is_one_message_transaction_with_its_request(sentry_sink: SentrySink,  # noqa: F811
                                                                      sentry_dsn: str) -> None:  # noqa: F811
    start(sentry_dsn, "1")
    assert make_app().test_client().post("/twilio/whatsapp?x=secret-value").status_code == 200
    delivered(sentry_sink, lambda: sentry_sink.transactions())

    [transaction] = sentry_sink.transactions()
    assert transaction["transaction"] == "whatsapp.inbound"
    assert transaction["contexts"]["trace"]["op"] == "sdr.message"
    assert transaction["contexts"]["trace"]["status"] == "ok"
    assert transaction["user"] == {"id": LEAD_ID}
    assert transaction["request"]["method"] == "POST"
    assert transaction["request"]["url"] == "http://localhost/twilio/whatsapp"
    assert transaction["request"]["query_string"] == "x=[Filtered]"
    assert [span["op"] for span in transaction["spans"]] == ["sdr.engine"]


def test_an_exception_in_a_dashboard_view_is_reported_with_its_route_and_request(
    sentry_sink: SentrySink, sentry_dsn: str  # noqa: F811
) -> None:
    start(sentry_dsn, "0")
    client = make_app().test_client()
    assert client.get(f"/admin/leads/missing?q={SEARCH}").status_code == 404  # an answer, not a failure
    assert client.get(f"/admin/leads/broken?q={SEARCH}", headers={"Cookie": "session=abc"}).status_code == 500
    delivered(sentry_sink, lambda: sentry_sink.events())

    time.sleep(0.2)
    [error] = [event for event in sentry_sink.events() if "exception" in event]
    [exception] = error["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "the dashboard broke")
    assert exception["mechanism"]["handled"] is False
    assert error["transaction"] == "/admin/leads/<lead_id>"
    assert error["request"]["method"] == "GET"
    assert error["request"]["url"] == "http://localhost/admin/leads/broken"
    assert "Cookie" not in error["request"]["headers"]
    assert SEARCH.encode() not in sentry_sink.raw_bytes()


def test_a_request_never_carries_an_earlier_requests_breadcrumbs_or_lead(sentry_sink: SentrySink,  # noqa: F811
                                                                         sentry_dsn: str) -> None:  # noqa: F811
    start(sentry_dsn, "0")
    client = make_app().test_client()
    assert client.post("/twilio/whatsapp").status_code == 200  # a stage breadcrumb and a lead
    assert client.get("/admin/leads/fine").status_code == 200
    assert client.get("/admin/leads/broken").status_code == 500
    delivered(sentry_sink, lambda: sentry_sink.events())

    [error] = sentry_sink.events()
    crumbs = [crumb.get("message") for crumb in error["breadcrumbs"]["values"]]
    assert crumbs.count("opened a lead page") == 1  # this request's own, not the page before it
    assert "budget -> timeline" not in crumbs
    assert "user" not in error and "stage" not in error["tags"]


def test_counters_are_summed_per_attribute_set_and_carry_no_lead(sentry_sink: SentrySink,  # noqa: F811
                                                                sentry_dsn: str) -> None:  # noqa: F811
    start(sentry_dsn, "1")
    for lead_id in (LEAD_ID, OTHER_LEAD_ID, LEAD_ID):
        with telemetry.message_trace("whatsapp", "whatsapp.inbound") as trace:
            trace.set_lead(lead_id)
            trace.stage_changed("budget", "timeline", 1.0, language="en")
    with telemetry.message_trace("voice", "voice.turn") as trace:
        trace.stage_changed("budget", "timeline", 1.0, language="en")
    delivered(sentry_sink, lambda: len(sentry_sink.metrics()) == 2)

    sums = {(m["attributes"]["channel"]["value"], m["value"]) for m in sentry_sink.metrics()}
    assert sums == {("whatsapp", 3.0), ("voice", 1.0)}
    for metric in sentry_sink.metrics():
        assert metric["name"] == "sdr.stage.entered" and metric["type"] == "counter"
        assert not any(name.startswith("user.") for name in metric["attributes"])
    assert LEAD_ID.encode() not in b"".join(item.raw for item in sentry_sink.items("trace_metric"))


def test_a_tally_emits_its_sums_when_its_interval_ends_and_starts_over() -> None:
    emitted: list[tuple[str, float, dict[str, str]]] = []
    tally = MetricTally(lambda name, value, attributes: emitted.append((name, value, attributes)), 0.05)
    tally.count("a", 1, {"stage": "x"})
    tally.count("a", 2, {"stage": "x"})
    tally.count("a", 1, {"stage": "y"})
    deadline = time.monotonic() + 5
    while len(emitted) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert emitted == [("a", 3.0, {"stage": "x"}), ("a", 1.0, {"stage": "y"})]
    tally.flush()
    assert len(emitted) == 2  # nothing pending: nothing more is sent
    tally.count("b", 1, {})
    tally.discard()
    time.sleep(0.1)
    assert len(emitted) == 2
