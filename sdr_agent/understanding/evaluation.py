"""Score a model on the labelled lead messages: per command and per slot; writes docs/evaluation.md.

Run with `make eval` (the configured SDR_LLM_* provider). Each case is read at its stage, the model's
commands and the labelled ones are both applied by the engine, and the results are compared.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import yaml

from ..config import PROJECT_ROOT
from ..llm_settings import LlmSettings, read_llm_settings
from ..qualification import Flow, LeadState, Turn, default_flow_path, default_knowledge_path, load_flow, load_knowledge
from ..qualification.commands import Command, apply_commands
from ..qualification.validators import parse_answer
from .budget import Deadline, within
from .client import ModelClient, ModelFailure
from .prompt import build_messages
from .schema import COMMANDS_SCHEMA, parse_commands

EVAL_SET = Path(__file__).resolve().parent / "eval_set.yaml"
REPORT = PROJECT_ROOT / "docs" / "evaluation.md"
NOW = datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)
# What a lead at a later stage has already answered, as typed text (parsed by the flow's own validators).
EARLIER_ANSWERS = {"consent": "sim", "name": "Ana Souza", "company": "Acme", "role": "2",
                   "need": "Automatizar o atendimento de vendas", "budget": "20 mil", "timeline": "este mês"}


@dataclass(frozen=True)
class Case:
    """One labelled message: where the lead is, what they wrote, and the commands it means."""

    id: str
    stage: str
    language: str
    message: str
    expected: tuple[Command, ...]


@dataclass
class Score:
    """Hits and totals per command name and per slot."""

    commands: Counter[str]
    command_hits: Counter[str]
    slots: Counter[str]
    slot_hits: Counter[str]
    failures: Counter[str]
    cases: int = 0


def load_cases(path: Path = EVAL_SET) -> list[Case]:
    """The labelled set: `[id, stage, language, message, "command slot=value; question topic"]` per line."""
    cases = []
    for row in yaml.safe_load(path.read_text(encoding="utf-8"))["cases"]:
        case_id, stage, language, message, labels = row
        cases.append(Case(case_id, stage, language, message, tuple(parse_label(part) for part in labels.split(";")
                                                                    if part.strip())))
    return cases


def parse_label(label: str) -> Command:
    """`set_slot budget=50000`, `question pricing`, `request_human` as a Command."""
    name, _, rest = label.strip().partition(" ")
    if name in ("set_slot", "correct_slot"):
        slot, _, value = rest.partition("=")
        return Command(name, slot.strip(), value.strip())
    if name == "question":
        return Command(name, topic=rest.strip() or None)
    return Command(name)


def shipped_flow() -> Flow:
    """The default flow with the example knowledge file, as the app loads them."""
    flow = load_flow(default_flow_path())
    return flow.with_knowledge(load_knowledge(default_knowledge_path(), flow.languages))


def state_at(flow: Flow, stage: str, language: str) -> LeadState:
    """A lead at `stage` who answered every earlier question."""
    slots: dict[str, Any] = {}
    for question in flow.stages:
        if question.id == stage:
            break
        slots[question.slot] = parse_answer(question, EARLIER_ANSWERS[question.id], "pt-BR", NOW).value
    return LeadState(stage=stage, language=language, slots=slots)


def evaluate(flow: Flow, cases: Sequence[Case], ask: Callable[[list[dict[str, str]]], list[Command]],
             with_topics: bool = True) -> Score:
    """Ask for every case and compare the engine's reading of both command lists."""
    score = Score(Counter(), Counter(), Counter(), Counter(), Counter())
    for case in cases:
        state = state_at(flow, case.stage, case.language)
        messages = build_messages(flow, state, case.message, [], None, with_topics=with_topics)
        try:
            predicted = ask(messages)
        except ModelFailure as failure:
            score.failures[failure.reason] += 1
            predicted = []
        score.cases += 1
        _compare(flow, state, case, predicted, score)
    return score


def _compare(flow: Flow, state: LeadState, case: Case, predicted: list[Command], score: Score) -> None:
    turn = Turn(text=case.message, now=NOW)
    wanted = {command.name for command in case.expected}
    got = {command.name for command in predicted}
    for name in wanted:
        score.commands[name] += 1
        score.command_hits[name] += name in got
    expected_result = apply_commands(flow, state, turn, list(case.expected))
    predicted_result = apply_commands(flow, state, turn, predicted)
    for command in case.expected:
        if command.slot is None:
            continue
        score.slots[command.slot] += 1
        if expected_result is not None and predicted_result is not None:
            score.slot_hits[command.slot] += (expected_result.state.slots.get(command.slot)
                                              == predicted_result.state.slots.get(command.slot))


def report(score: Score, provider: str, note: str) -> str:
    """docs/evaluation.md: the figures and what they prove."""
    lines = ["# Evaluation of the language model's understanding", "",
             "Generated by `make eval` (`python -m sdr_agent.understanding.evaluation`); do not edit by hand.", "",
             note, "", f"Provider: `{provider}`. Cases: {score.cases} (`sdr_agent/understanding/eval_set.yaml`).", "",
             "| command | cases | recognised |", "|---|---|---|"]
    for name in sorted(score.commands):
        lines.append(f"| `{name}` | {score.commands[name]} | {_percent(score.command_hits[name], score.commands[name])} |")
    lines += ["", "| slot | cases | value the engine kept, as labelled |", "|---|---|---|"]
    for slot in sorted(score.slots):
        lines.append(f"| `{slot}` | {score.slots[slot]} | {_percent(score.slot_hits[slot], score.slots[slot])} |")
    failures = ", ".join(f"{reason}: {count}" for reason, count in sorted(score.failures.items())) or "none"
    lines += ["", f"Calls that failed (counted as no commands): {failures}.", ""]
    return "\n".join(lines)


def _percent(hits: int, total: int) -> str:
    return f"{100 * hits / total:.0f}% ({hits}/{total})" if total else "-"


def model_asker(settings: LlmSettings) -> Callable[[list[dict[str, str]]], list[Command]]:
    """Ask the configured model, within the WhatsApp budget, as a turn would."""
    client = ModelClient(settings)

    def ask(messages: list[dict[str, str]]) -> list[Command]:
        return within(Deadline(settings.timeout_ms),
                      lambda timeout: parse_commands(client.complete(messages, COMMANDS_SCHEMA, timeout).content))

    return ask


PLUMBING_NOTE = ("These figures come from the test suite's local OpenAI-compatible server, which answers each "
                 "case with its own label: they prove the plumbing (prompt, structured output, parsing, the "
                 "engine's validation) only, not a model's quality. Figures for a real model are recorded by "
                 "running `make eval` with `SDR_LLM_API_KEY`, `SDR_LLM_BASE_URL` and `SDR_LLM_MODEL` set; none was "
                 "reachable when this file was generated.")


def main(argv: Sequence[str] | None = None) -> int:
    """Score the configured provider and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=Path, default=REPORT)
    parser.add_argument("--note", default="Figures for the provider below, measured with `make eval`.")
    args = parser.parse_args(argv)

    settings = read_llm_settings(os.environ)
    if not settings.enabled:
        print("make eval needs SDR_LLM_API_KEY (and SDR_LLM_BASE_URL / SDR_LLM_MODEL) set", file=sys.stderr)
        return 2
    score = evaluate(shipped_flow(), load_cases(), model_asker(settings), with_topics=settings.uses("answer"))
    args.output.write_text(report(score, f"{settings.model} at {settings.base_url}", args.note), encoding="utf-8")
    print(f"{score.cases} cases scored; report written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
