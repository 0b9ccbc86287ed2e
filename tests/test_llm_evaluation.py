"""The labelled evaluation set and `make eval`'s scoring, run against the loopback model (plumbing only)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from sdr_agent.llm_settings import LlmSettings
from sdr_agent.qualification import Turn
from sdr_agent.qualification.commands import COMMAND_NAMES, apply_commands
from sdr_agent.understanding.evaluation import (NOW, PLUMBING_NOTE, evaluate, load_cases, main, model_asker, report,
                                                shipped_flow, state_at)
from tests.fake_llm import Answer, FakeModel, Request, commands

CASES = load_cases()
FLOW = shipped_flow()


def test_the_set_is_large_mixed_and_covers_every_command() -> None:
    assert len(CASES) >= 200
    assert {case.language for case in CASES} == {"pt-BR", "en"}
    assert len({case.id for case in CASES}) == len(CASES)
    assert {command.name for case in CASES for command in case.expected} == set(COMMAND_NAMES)


@pytest.mark.parametrize("case", [case for case in CASES if any(c.slot for c in case.expected)],
                         ids=lambda case: case.id)
def test_every_labelled_value_passes_the_engine(case) -> None:  # type: ignore[no-untyped-def]
    state = state_at(FLOW, case.stage, case.language)
    result = apply_commands(FLOW, state, Turn(text=case.message, now=NOW), list(case.expected))
    assert result is not None
    for command in case.expected:
        if command.slot == "consent" and result.state.stage == "declined":
            continue  # a no to the consent question declines rather than filling the slot
        if command.slot is not None:
            assert command.slot in result.state.slots, f"{case.id}: {command.slot}={command.value} was dropped"


@pytest.fixture
def oracle() -> Iterator[FakeModel]:
    """A loopback model that answers every case with its own label."""
    by_message = {case.message: case for case in CASES}

    def answer(request: Request) -> Answer:
        message = json.loads(request.body["messages"][-1]["content"])["message"]
        case = by_message[message]
        return commands(*({"command": c.name, "slot": c.slot, "value": c.value, "topic": c.topic}
                          for c in case.expected))

    fake = FakeModel(default=answer).start()
    yield fake
    fake.stop()


def test_scoring_against_the_loopback_model(oracle: FakeModel, tmp_path: Path) -> None:
    settings = LlmSettings(api_key="sk-test", base_url=oracle.base_url, model="loopback-oracle",
                           features=frozenset({"understand", "answer"}))
    score = evaluate(FLOW, CASES, model_asker(settings))
    assert score.cases == len(CASES) == len(oracle.requests)
    assert score.command_hits == score.commands and score.slot_hits == score.slots
    text = report(score, "loopback-oracle", PLUMBING_NOTE)
    assert "plumbing" in text and "| `set_slot` |" in text and "100%" in text


def test_make_eval_refuses_to_run_without_a_provider(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SDR_LLM_API_KEY", raising=False)
    assert main(["--output", str(tmp_path / "evaluation.md")]) == 2
    assert not (tmp_path / "evaluation.md").exists()


def test_make_eval_writes_the_report(oracle: FakeModel, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SDR_LLM_API_KEY", "sk-test")
    monkeypatch.setenv("SDR_LLM_BASE_URL", oracle.base_url)
    monkeypatch.setenv("SDR_LLM_MODEL", "loopback-oracle")
    output = tmp_path / "evaluation.md"
    assert main(["--output", str(output), "--note", PLUMBING_NOTE]) == 0
    assert "loopback-oracle" in output.read_text(encoding="utf-8")
