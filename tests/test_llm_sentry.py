"""Sentry AI monitoring of model-assisted turns, over a real envelope sink: spans, metrics, warnings, no prompts."""
from __future__ import annotations

import time
from typing import Any, Iterator

import pytest
from flask import Flask

from sdr_agent import telemetry
from sdr_agent.extensions import db
from sdr_agent.simulator import WebhookClient
from sdr_agent.understanding.prompt import SYSTEM_PROMPT
from tests.conftest import base_config, finish_background_work
from tests.fake_llm import FakeModel, commands, hang, status
from tests.sentry_fixtures import sentry_dsn, sentry_sink, spellings  # noqa: F401 - pytest fixtures
from tests.sentry_sink import SentrySink
from tests.test_sentry_conversations import delivered, named, traced_app

PHONE = "+5511933330000"
MARKER = "COMPLETION-MARKER-7731"  # only ever in the model's answer
MESSAGE = "cinquentinha por mês, fechou"


@pytest.fixture
def model() -> Iterator[FakeModel]:
    fake = FakeModel().start()
    yield fake
    fake.stop()


@pytest.fixture
def traced(database_url: str, redis_url: str | None, sentry_dsn: str,  # noqa: F811
           model: FakeModel) -> Iterator[Flask]:
    telemetry.shutdown_telemetry()
    app = traced_app(base_config(database_url, redis_url, SENTRY_DSN=sentry_dsn, SENTRY_RELEASE="test",
                                 SDR_LLM_API_KEY="sk-test", SDR_LLM_BASE_URL=model.base_url,
                                 SDR_LLM_MODEL="fake-small", SDR_LLM_TIMEOUT_MS="800",
                                 SDR_LLM_PRICES="0.15,0.60"))
    yield app
    finish_background_work(app)
    with app.app_context():
        db.engine.dispose()
    telemetry.shutdown_telemetry()


def to_budget(app: Flask) -> WebhookClient:
    webhooks = WebhookClient(app)
    for text in ("oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar o atendimento de vendas"):
        webhooks.send_whatsapp(PHONE, text)
    return webhooks


def spans_of(sink: SentrySink, op: str) -> list[dict[str, Any]]:
    """Spans of this op, from transactions or from the span items the SDK streams gen_ai spans in."""
    found = [span for transaction in sink.transactions() for span in transaction.get("spans", []) if span["op"] == op]
    for item in sink.items("span"):
        for span in item.payload.get("items", []) if isinstance(item.payload, dict) else []:
            attributes = {key: value["value"] if isinstance(value, dict) and "value" in value else value
                          for key, value in span.get("attributes", {}).items()}
            if attributes.get("sentry.op") == op:
                found.append({**span, "op": op, "data": attributes})
    return found


def test_a_model_assisted_turn_is_an_agent_span_with_chat_and_tool_children(traced: Flask,
                                                                           sentry_sink: SentrySink,  # noqa: F811
                                                                           model: FakeModel) -> None:
    webhooks = to_budget(traced)
    model.then(commands({"command": "set_slot", "slot": "budget", "value": "50000", "topic": None},
                        {"command": "chitchat", "slot": None, "value": MARKER, "topic": None}))
    webhooks.send_whatsapp(PHONE, MESSAGE)
    delivered(sentry_sink, lambda: spans_of(sentry_sink, "gen_ai.chat"))
    [agent] = spans_of(sentry_sink, "gen_ai.invoke_agent")
    [chat] = spans_of(sentry_sink, "gen_ai.chat")
    assert chat["parent_span_id"] == agent["span_id"]
    assert agent["data"]["gen_ai.agent.name"] == "sdr-understanding"
    assert chat["data"]["gen_ai.request.model"] == "fake-small"
    assert chat["data"]["gen_ai.usage.input_tokens"] > 0 and chat["data"]["gen_ai.usage.output_tokens"] > 0
    assert chat["data"]["gen_ai.response.finish_reasons"] == ["stop"]
    tools = [span["data"]["gen_ai.tool.name"] for span in spans_of(sentry_sink, "gen_ai.execute_tool")]
    assert tools == ["set_slot", "chitchat"]
    assert delivered_metric(sentry_sink, "sdr.llm.tokens")
    [cost] = delivered_metric(sentry_sink, "sdr.llm.cost")
    assert 0 < cost["value"] < 0.01 and cost["attributes"]["stage"]["value"] == "budget"

    # What the lead wrote, what the model was told and what it answered never reach Sentry.
    raw = sentry_sink.raw_bytes()
    for secret in (MARKER, MESSAGE, SYSTEM_PROMPT[:60], "qualification form", PHONE):
        for form in spellings(secret):
            assert form.encode() not in raw, form


def delivered_metric(sink: SentrySink, name: str) -> list[dict[str, Any]]:
    telemetry.flush_telemetry(5)
    sink.wait_for(lambda: [m for m in sink.metrics() if m["name"] == name], 5)
    return [m for m in sink.metrics() if m["name"] == name]


def test_what_the_turn_set_in_motion_is_a_tool_span(traced: Flask, sentry_sink: SentrySink,  # noqa: F811
                                                     model: FakeModel) -> None:
    webhooks = to_budget(traced)
    model.then(commands({"command": "request_human", "slot": None, "value": None, "topic": None}))
    webhooks.send_whatsapp(PHONE, "prefiro resolver isso com gente de verdade")
    delivered(sentry_sink, lambda: spans_of(sentry_sink, "gen_ai.execute_tool"))
    tools = [span["data"]["gen_ai.tool.name"] for span in spans_of(sentry_sink, "gen_ai.execute_tool")]
    assert tools == ["request_human", "hand_off"]


def test_a_meeting_offered_on_the_models_word_is_a_tool_span_of_its_agent(traced: Flask,
                                                                          sentry_sink: SentrySink,  # noqa: F811
                                                                          model: FakeModel) -> None:
    webhooks = to_budget(traced)
    webhooks.send_whatsapp(PHONE, "R$ 20 mil por mês")
    webhooks.send_whatsapp(PHONE, "em 2 meses")
    model.then(commands({"command": "set_slot", "slot": "email", "value": "ana@acme.com.br", "topic": None}))
    webhooks.send_whatsapp(PHONE, "anota aí: ana @ acme . com . br")
    delivered(sentry_sink, lambda: spans_of(sentry_sink, "gen_ai.execute_tool"))
    [agent] = spans_of(sentry_sink, "gen_ai.invoke_agent")
    tools = spans_of(sentry_sink, "gen_ai.execute_tool")
    assert [span["data"]["gen_ai.tool.name"] for span in tools] == ["set_slot", "crm_push", "offer_meeting"]
    assert {span["parent_span_id"] for span in tools} == {agent["span_id"]}


@pytest.mark.parametrize("failure, title, reason", [
    ([status(500), status(500)], "Language model failure", "server_error"),
    ([hang()], "Language model timeout", "timeout"),
])
def test_a_fallback_is_a_warning_with_its_reason_and_a_metric(traced: Flask, sentry_sink: SentrySink,  # noqa: F811
                                                             model: FakeModel, failure: list[Any], title: str,
                                                             reason: str) -> None:
    webhooks = to_budget(traced)
    model.then(*failure)
    started = time.monotonic()
    webhooks.send_whatsapp(PHONE, "hmm deixa eu ver")
    assert time.monotonic() - started < 1.5
    delivered(sentry_sink, lambda: named(sentry_sink, title))
    [warning] = named(sentry_sink, title)
    assert warning["level"] == "warning"
    assert warning["tags"]["reason"] == reason and warning["tags"]["stage"] == "budget"
    [metric] = delivered_metric(sentry_sink, "sdr.llm.fallback")
    assert metric["attributes"]["reason"]["value"] == reason
    chats = spans_of(sentry_sink, "gen_ai.chat")
    assert chats and all(chat["data"]["error.type"] == reason for chat in chats)
