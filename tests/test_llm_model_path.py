"""#11's conversations through the model path, over loopback: a model that defers or fails changes nothing."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from sdr_agent.llm_settings import LlmSettings
from sdr_agent.qualification import Turn
from sdr_agent.understanding.breaker import CircuitBreaker
from sdr_agent.understanding.service import Understanding
from tests.engine.conftest import flow  # noqa: F401 - pytest fixture
from tests.engine.support import NOW, Lead
from tests.engine.test_knowledge_conversations import CONVERSATIONS, assert_clean
from tests.fake_llm import FakeModel, commands, status


@pytest.fixture(scope="module", params=["unclear", "failing"])
def model(request: pytest.FixtureRequest) -> Iterator[FakeModel]:
    answer = commands({"command": "unclear"}) if request.param == "unclear" else status(500)
    fake = FakeModel(default=lambda _: answer).start()
    yield fake
    fake.stop()


@pytest.mark.parametrize("name", sorted(CONVERSATIONS))
def test_conversation_through_the_model_path(flow: Any, model: FakeModel, name: str) -> None:  # noqa: F811
    settings = LlmSettings(api_key="sk-test", base_url=model.base_url, timeout_ms=2000, voice_timeout_ms=2000,
                           features=frozenset({"understand", "answer"}))
    understanding = Understanding(settings, CircuitBreaker(None, threshold=1000))
    language, channel, script, final = CONVERSATIONS[name]
    lead = Lead(flow, language)
    for number, (text, expected, stage) in enumerate(script, 1):
        result = understanding.step(flow, lead.state, Turn(text=text, now=NOW, channel=channel), lambda: [])
        lead.state, lead._last = result.state, result
        context = f"turn {number}: {text!r} -> {result.state.stage}: {result.replies}"
        assert result.state.stage == stage, context
        if expected is not None:
            assert expected in lead.reply(), context
        assert_clean(lead, text)
    for slot, expected_value in final.items():
        value = lead.state.slots.get(slot)
        assert expected_value(value) if callable(expected_value) else value == expected_value, (slot, value)


def test_the_model_was_asked_along_the_way(model: FakeModel) -> None:
    """Runs after the conversations above (same module-scoped model): their unread turns did reach it."""
    assert len(model.requests) >= 5
