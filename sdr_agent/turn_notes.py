"""What one turn tells telemetry: gathered inside the transaction, reported once it has committed."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from . import telemetry
from .messages import Reply
from .qualification import EventKind
from .slow_calls import SlowCalls

# Engine events that end a qualification, and the outcome name they are reported under.
OUTCOMES = {
    EventKind.QUALIFIED: "qualified",
    EventKind.DISQUALIFIED: "disqualified",
    EventKind.HANDOFF_REQUESTED: "handoff",
    EventKind.OPTED_OUT: "opted_out",
    EventKind.DECLINED: "declined",
}


@dataclass
class ThreadReset:
    """A thread that ended and was replaced during the turn."""

    reason: str
    age_s: float
    stage: str | None


@dataclass
class TurnNotes:
    """Facts about one turn that must only be reported if the turn was stored."""

    trace: telemetry.MessageTrace
    resets: list[ThreadReset] = field(default_factory=list)
    error: BaseException | None = None
    silent: bool = False
    seconds_in_stage: float | None = None  # how long the lead had been at the stage the turn started in
    stage: str | None = None  # the stage the turn started in
    outbox_ids: list[int] = field(default_factory=list)  # sends the turn queued, handed to the worker after commit
    lock_wait: tuple[float, float] | None = None  # (waited, timeout) in ms when the lead's lock timed out
    model_turns: list[Any] = field(default_factory=list)  # what the language model did, stored with the turn
    slow_calls: SlowCalls = field(default_factory=SlowCalls)  # model and transcription answers, made outside

    def rolled_back(self) -> None:
        """Forget what a rolled-back run of the turn noted: its resets and queued sends never happened."""
        self.resets.clear()
        self.outbox_ids.clear()
        self.model_turns.clear()
        self.silent = False

    def failed(self, error: BaseException) -> None:
        """Report an error now, before it is logged: the SDK then drops the logging integration's copy,
        so the one error event carries the turn's stage and channel tags.

        What the failed attempt noted was rolled back with it: its resets and queued sends never happened.
        """
        self.error = error
        self.rolled_back()
        telemetry.capture_error(error, self.stage, self.trace.channel)

    def never_send(self, *values: Any) -> None:
        """Keep these values (message text, names, answers) out of everything sent."""
        self.trace.redact(*(value for value in values if isinstance(value, str)))

    def never_send_answers(self, slots: Mapping[str, Any]) -> None:
        """Keep every answer the lead gave out of everything sent."""
        self.never_send(*slots.values())

    def thread_reset(self, reason: str, started_at: datetime | None, now: datetime, stage: str | None) -> None:
        age = (now - started_at).total_seconds() if started_at is not None else 0.0
        self.resets.append(ThreadReset(reason, max(age, 0.0), stage))

    def lock_timed_out(self, waited_ms: float, timeout_ms: float) -> None:
        """The lead's lock was held by another turn for the whole timeout; reported once the turn's stage is known."""
        self.lock_wait = (waited_ms, timeout_ms)

    def report(self, reply: Reply) -> None:
        """Lock wait, then stage trail, outcome, silence and resets of a committed turn (a replayed retry reports
        only the lock wait)."""
        trace = self.trace
        if self.lock_wait is not None:
            # Tagged with the stage the lead was at when the turn began, not the one it moved to.
            telemetry.lock_wait_exceeded(self.lock_wait[0], self.stage, timeout_ms=self.lock_wait[1])
        if reply.duplicate:
            return
        trace.annotate(stage=reply.stage_after, language=reply.language)
        seconds = self.seconds_in_stage
        for event in reply.events:
            if event.kind is EventKind.STAGE_CHANGED:
                trace.stage_changed(event.data["from"], event.data["to"], seconds, language=reply.language)
                seconds = 0.0  # further changes in the same turn spent no time in between
        # After the stage trail, so the outcome event carries it as breadcrumbs.
        for event in reply.events:
            if event.kind in OUTCOMES:
                trace.outcome(OUTCOMES[event.kind])
            elif event.kind is EventKind.QUESTION_ASKED:
                telemetry.question_asked(bool(event.data["answered"]), event.data.get("stage"), trace.channel)
        if self.silent:
            telemetry.no_speech(reply.stage_after)
        for reset in self.resets:
            error = self.error if reset.reason == "error" else None
            telemetry.thread_reset(reset.reason, reset.age_s, reset.stage, error)
