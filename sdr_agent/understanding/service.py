"""Rules first; for a message they do not understand, the model's commands within a hard time budget."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

from redis import Redis

from .. import telemetry
from ..llm_settings import LlmSettings
from ..qualification import EventKind, Flow, LeadState, StepResult, Turn, step
from ..qualification.commands import Command, apply_commands
from ..slow_calls import SlowCalls
from .breaker import CircuitBreaker
from .budget import Deadline, within
from .client import Completion, ModelClient, ModelFailure
from .prompt import Turn as HistoryTurn
from .prompt import build_messages
from .schema import COMMANDS_SCHEMA, parse_commands

log = logging.getLogger(__name__)
# What the service does after the step (a meeting offer, a cancelled booking): the result, and its tool names.
FollowUp = Callable[[StepResult], tuple[StepResult, Sequence[str]]]

VOICE = "voice"
# What a model-assisted step set in motion, as Sentry tool names: the service acts on these events
# (hand-off notification, CRM push and meeting offer, callback request to the team).
_TOOLS = {EventKind.HANDOFF_REQUESTED: "hand_off", EventKind.QUALIFIED: "crm_push", EventKind.DISQUALIFIED: "crm_push",
          EventKind.CALLBACK_REQUESTED: "callback_request", EventKind.OPTED_OUT: "opt_out"}
# The rules were certain: a command they recognised (stop, restart, a person, help) or an answer they read
# costs no call.
_CERTAIN = frozenset({EventKind.OPTED_OUT, EventKind.OPTED_IN, EventKind.RESET_REQUESTED, EventKind.HELP_SHOWN,
                      EventKind.SLOT_FILLED, EventKind.SLOT_CORRECTED, EventKind.CALLBACK_REQUESTED,
                      EventKind.CONFIRMATION_REQUESTED, EventKind.DECLINED})


@dataclass
class ModelRecord:
    """What one model-assisted turn did, stored with the turn (never the values the model proposed)."""

    outcome: str = "rules"  # applied | rules | the fallback reason
    commands: list[dict[str, str]] = field(default_factory=list)
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0


class Understanding:
    """Reads a message with the rules, and with the model when the rules could not."""

    def __init__(self, settings: LlmSettings, breaker: CircuitBreaker, client: ModelClient | None = None) -> None:
        self.settings = settings
        self.breaker = breaker
        self.client = client or ModelClient(settings)

    @classmethod
    def from_settings(cls, settings: LlmSettings, redis: Redis | None) -> "Understanding | None":
        """The understanding step when `understand` is on; None keeps the rules alone."""
        return cls(settings, CircuitBreaker(redis)) if settings.uses("understand") else None

    def step(self, flow: Flow, state: LeadState, turn: Turn, history: Callable[[], Sequence[HistoryTurn]],
             phone: str | None = None, record: Callable[[ModelRecord], None] = lambda record: None,
             slow: SlowCalls | None = None, then: FollowUp = lambda result: (result, ())) -> StepResult:
        """The rules' step, or the step of the model's validated commands when the rules did not understand.

        `record` hears what a model-assisted turn did, to be stored with the turn; `slow` decides whether the
        model is asked in place or outside the transaction; `then` is what the service does with the step's
        result (a meeting offer…), run inside the agent span so its tools are part of the model-assisted turn.
        """
        rules = step(flow, state, turn)
        if not needs_model(state, turn, rules):
            return then(rules)[0]
        channel = turn.channel
        noted = ModelRecord(model=self.client.model)
        record(noted)
        if not self.breaker.allows():
            noted.outcome = "circuit_open"
            telemetry.ai_fallback("circuit_open", state.stage, channel)
            return then(rules)[0]
        messages = build_messages(flow, state, turn.text, history(), phone, with_topics=self.settings.uses("answer"))
        # The prompt is the key: a second run of the turn that asks the same takes the answer made outside.
        key = ("understand", json.dumps(messages, sort_keys=True))
        consultation = (slow or SlowCalls()).answer(key, lambda: self.consult(messages, state.stage, channel))
        with telemetry.ai_agent(self.client.model, started=consultation.started) as agent:
            for call in consultation.calls:
                agent.chat(call.model, call.started, call.ended, input_tokens=call.input_tokens,
                           output_tokens=call.output_tokens, finish_reason=call.finish_reason, failure=call.failure)
                noted.model = call.model if call.failure is None else noted.model
                noted.input_tokens += call.input_tokens or 0
                noted.output_tokens += call.output_tokens or 0
            if consultation.commands is None:
                noted.outcome = consultation.failure or "rules"
                return then(rules)[0]
            commands = list(consultation.commands)
            if not self.settings.uses("answer"):
                # Without `answer`, questions are matched to the knowledge by the rules' matcher only.
                commands = [Command(c.name, c.slot, c.value, None) for c in commands]
            noted.commands = [{key: value for key, value in (("command", c.name), ("slot", c.slot), ("topic", c.topic))
                               if value is not None} for c in commands]
            result = apply_commands(flow, state, turn, commands)
            noted.outcome = "applied" if result is not None else "rules"
            for command in commands if result is not None else ():
                agent.tool(command.name)
            for event in result.events if result is not None else ():
                if event.kind in _TOOLS:
                    agent.tool(_TOOLS[event.kind])
            final, tools = then(result if result is not None else rules)
            for tool in tools:
                agent.tool(tool)
        return final

    def consult(self, messages: list[dict[str, str]], stage: str | None, channel: str) -> "Consultation":
        """Ask the model within the channel's budget: its commands, or the failure the turn falls back on."""
        started = time.time()
        calls: list[ChatCall] = []
        try:
            commands = self._ask(messages, calls, stage, channel)
        except ModelFailure as failure:
            if self.breaker.failed():
                log.warning("language model circuit opened after repeated failures")
            telemetry.ai_fallback(failure.reason, stage, channel)
            log.info("language model fallback to the rules", extra={"reason": failure.reason})
            return Consultation(started, tuple(calls), failure=failure.reason)
        self.breaker.succeeded()
        return Consultation(started, tuple(calls), commands=tuple(commands))

    def _ask(self, messages: list[dict[str, str]], calls: list["ChatCall"], stage: str | None,
             channel: str) -> list[Command]:
        """The model's commands within the channel's budget (one retry that fits); ModelFailure otherwise."""
        completions: list[Completion] = []

        def attempt(timeout_s: float) -> list[Command]:
            completion = self.client.complete(messages, COMMANDS_SCHEMA, timeout_s)
            commands = parse_commands(completion.content)  # malformed output fails the attempt, so it may retry
            completions.append(completion)
            return commands

        def traced(outcome: object, started: float, ended: float) -> None:
            if isinstance(outcome, ModelFailure):
                calls.append(ChatCall(self.client.model, started, ended, failure=outcome.reason))
                return
            completion = completions[-1]
            calls.append(ChatCall(completion.model, started, ended, completion.input_tokens,
                                  completion.output_tokens, completion.finish_reason))
            telemetry.ai_usage(completion.model, completion.input_tokens, completion.output_tokens, stage,
                               channel, self.settings.cost(completion.input_tokens or 0,
                                                           completion.output_tokens or 0))

        return within(Deadline(self.settings.budget_ms(channel == VOICE)), attempt, traced)


@dataclass(frozen=True)
class ChatCall:
    """One attempt at the model: when, with which model, its tokens and finish reason, or why it failed."""

    model: str
    started: float  # wall-clock seconds
    ended: float
    input_tokens: int | None = None
    output_tokens: int | None = None
    finish_reason: str | None = None
    failure: str | None = None


@dataclass(frozen=True)
class Consultation:
    """What asking the model gave: its commands, or the reason the turn falls back to the rules."""

    started: float  # wall-clock seconds
    calls: tuple[ChatCall, ...]
    commands: tuple[Command, ...] | None = None
    failure: str | None = None


def needs_model(state: LeadState, turn: Turn, rules: StepResult) -> bool:
    """Whether the rules left the message not understood: an answer refused, or a question they could not place."""
    if not turn.text.strip() or turn.confirm or state.opted_out:
        return False
    kinds = {event.kind for event in rules.events}
    if EventKind.SLOT_REJECTED in kinds:
        return True  # even when the retry limit then skipped or handed off: the model may read it after all
    if kinds & _CERTAIN:
        return False
    return any(event.kind is EventKind.QUESTION_ASKED and not event.data.get("answered") for event in rules.events)
