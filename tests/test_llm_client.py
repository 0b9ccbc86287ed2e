"""The model client over real HTTP against the loopback model: answers, failures, hangs and the budget."""
from __future__ import annotations

import json
import time
from typing import Iterator

import pytest

from sdr_agent.llm_settings import LlmSettings
from sdr_agent.understanding.budget import Deadline, within
from sdr_agent.understanding.client import ModelClient, ModelFailure
from tests.fake_llm import Answer, FakeModel, commands, hang, malformed, refused, status

SCHEMA = {"type": "object", "properties": {"commands": {"type": "array"}}, "required": ["commands"],
          "additionalProperties": False}
MESSAGES = [{"role": "system", "content": "test"}, {"role": "user", "content": "hello"}]


@pytest.fixture
def model() -> Iterator[FakeModel]:
    fake = FakeModel().start()
    yield fake
    fake.stop()


def client_for(model: FakeModel) -> ModelClient:
    return ModelClient(LlmSettings(api_key="sk-test", base_url=model.base_url, model="fake-small",
                                   features=frozenset({"understand"})))


def test_a_structured_answer_comes_back_with_its_usage(model: FakeModel) -> None:
    model.then(commands({"command": "chitchat", "slot": None, "value": None, "topic": None}))
    completion = client_for(model).complete(MESSAGES, SCHEMA, timeout_s=2)
    assert json.loads(completion.content)["commands"][0]["command"] == "chitchat"
    assert completion.model == "fake-small" and completion.finish_reason == "stop"
    assert completion.input_tokens and completion.output_tokens
    request = model.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["response_format"]["type"] == "json_schema"
    assert request.body["response_format"]["json_schema"]["schema"] == SCHEMA


@pytest.mark.parametrize("answer, reason, retryable", [
    (status(429), "rate_limited", True),
    (status(500), "server_error", True),
    (status(400), "http_400", False),
    (refused(), "refused", False),
    (Answer(raw_body=b"<html>gateway</html>"), "malformed", True),
])
def test_failures_are_named(model: FakeModel, answer: Answer, reason: str, retryable: bool) -> None:
    model.then(answer)
    with pytest.raises(ModelFailure) as failure:
        client_for(model).complete(MESSAGES, SCHEMA, timeout_s=2)
    assert (failure.value.reason, failure.value.retryable) == (reason, retryable)


def test_malformed_content_is_returned_for_the_parser_to_refuse(model: FakeModel) -> None:
    model.then(malformed())
    assert not client_for(model).complete(MESSAGES, SCHEMA, timeout_s=2).content.endswith("}")


def test_a_hang_ends_at_the_deadline(model: FakeModel) -> None:
    model.then(hang())
    client = client_for(model)
    started = time.monotonic()
    with pytest.raises(ModelFailure, match="timeout"):
        within(Deadline(400), lambda timeout: client.complete(MESSAGES, SCHEMA, timeout))
    assert time.monotonic() - started < 0.6
    assert len(model.requests) == 1  # no time was left for a retry


def test_one_retry_after_a_quick_failure(model: FakeModel) -> None:
    model.then(status(500), commands({"command": "unclear"}))
    client = client_for(model)
    failures: list[str] = []
    completion = within(Deadline(2000), lambda timeout: client.complete(MESSAGES, SCHEMA, timeout),
                        lambda outcome, started, ended: failures.append(getattr(outcome, "reason", "ok")))
    assert json.loads(completion.content) == {"commands": [{"command": "unclear"}]}
    assert failures == ["server_error", "ok"] and len(model.requests) == 2


def test_never_more_than_one_retry(model: FakeModel) -> None:
    model.then(status(429), status(429), commands({"command": "unclear"}))
    client = client_for(model)
    with pytest.raises(ModelFailure, match="rate_limited"):
        within(Deadline(2000), lambda timeout: client.complete(MESSAGES, SCHEMA, timeout))
    assert len(model.requests) == 2


def test_no_retry_when_it_would_not_fit(model: FakeModel) -> None:
    model.then(Answer(status=500, delay_s=0.7), commands({"command": "unclear"}))
    client = client_for(model)
    started = time.monotonic()
    with pytest.raises(ModelFailure, match="server_error"):
        within(Deadline(1000), lambda timeout: client.complete(MESSAGES, SCHEMA, timeout))
    assert len(model.requests) == 1 and time.monotonic() - started < 1.0


def test_a_refusal_is_not_retried(model: FakeModel) -> None:
    model.then(refused(), commands({"command": "unclear"}))
    client = client_for(model)
    with pytest.raises(ModelFailure, match="refused"):
        within(Deadline(2000), lambda timeout: client.complete(MESSAGES, SCHEMA, timeout))
    assert len(model.requests) == 1
