"""Rules first; for a message they do not understand, the model's commands within a hard time budget."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Sequence

from redis import Redis

from .. import telemetry
from ..llm_settings import LlmSettings
from ..qualification import EventKind, Flow, LeadState, StepResult, Turn, step
from ..qualification.commands import Command, apply_commands
from .breaker import CircuitBreaker
from .budget import Deadline, within
from .client import Completion, ModelClient, ModelFailure
from .prompt import Turn as HistoryTurn
from .prompt import build_messages
from .schema import COMMANDS_SCHEMA, parse_commands

log = logging.getLogger(__name__)

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
             phone: str | None = None, record: Callable[[ModelRecord], None] = lambda record: None) -> StepResult:
        """The rules' step, or the step of the model's validated commands when the rules did not understand.

        `record` hears what a model-assisted turn did, to be stored with the turn.
        """
        rules = step(flow, state, turn)
        if not needs_model(state, turn, rules):
            return rules
        channel = turn.channel
        noted = ModelRecord(model=self.client.model)
        record(noted)
        if not self.breaker.allows():
            noted.outcome = "circuit_open"
            telemetry.ai_fallback("circuit_open", state.stage, channel)
            return rules
        messages = build_messages(flow, state, turn.text, history(), phone, with_topics=self.settings.uses("answer"))
        with telemetry.ai_agent(self.client.model) as agent:
            try:
                commands = self._ask(messages, agent, state, channel, channel == VOICE, noted)
            except ModelFailure as failure:
                noted.outcome = failure.reason
                if self.breaker.failed():
                    log.warning("language model circuit opened after repeated failures")
                telemetry.ai_fallback(failure.reason, state.stage, channel)
                log.info("language model fallback to the rules", extra={"reason": failure.reason})
                return rules
            self.breaker.succeeded()
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
        return result if result is not None else rules

    def _ask(self, messages: list[dict[str, str]], agent: telemetry.AgentSpan, state: LeadState, channel: str,
             voice: bool, noted: ModelRecord) -> list[Command]:
        """The model's commands within the channel's budget (one retry that fits); ModelFailure otherwise."""

        def attempt(timeout_s: float) -> list[Command]:
            completion = self.client.complete(messages, COMMANDS_SCHEMA, timeout_s)
            commands = parse_commands(completion.content)  # malformed output fails the attempt, so it may retry
            calls.append(completion)
            return commands

        def traced(outcome: object, started: float, ended: float) -> None:
            if isinstance(outcome, ModelFailure):
                agent.chat(self.client.model, started, ended, failure=outcome.reason)
                return
            completion = calls[-1]
            noted.model = completion.model
            noted.input_tokens += completion.input_tokens or 0
            noted.output_tokens += completion.output_tokens or 0
            agent.chat(completion.model, started, ended, input_tokens=completion.input_tokens,
                       output_tokens=completion.output_tokens, finish_reason=completion.finish_reason)
            telemetry.ai_usage(completion.model, completion.input_tokens, completion.output_tokens, state.stage,
                               channel, self.settings.cost(completion.input_tokens or 0,
                                                           completion.output_tokens or 0))

        calls: list[Completion] = []
        return within(Deadline(self.settings.budget_ms(voice)), attempt, traced)


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
