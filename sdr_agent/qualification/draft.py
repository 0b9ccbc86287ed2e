"""The step being built (state, replies, events) and the moves every handler shares."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timezone
from typing import Any, Mapping

from . import scoring
from .flow_model import Flow, QuestionStage
from .fragments import joined
from .intents import detect_intent
from .speech import speakable
from .textnorm import clean
from .types import TERMINAL_STAGES, AskedQuestion, Event, EventKind, LeadState, StepResult, Turn

HANDOFF = "handoff"
WRITE_TO_US = "email_write_on_whatsapp"  # optional text: a call that cannot promise a WhatsApp message
NEUTRAL_CLOSE = "closed_for_review"  # optional text: a low score without a disqualifying rule
VOICE = "voice"


@dataclass
class Draft:
    """One step in the making: the state so far, the replies to send and what happened."""

    flow: Flow
    state: LeadState
    turn: Turn
    text: str
    pending: Mapping[str, Any] | None = None  # the answer last turn asked to confirm, if any
    replies: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    aside: bool = False  # the lead asked something this turn: the open question is asked again, not rejected
    questions: list[AskedQuestion] = field(default_factory=list)
    joined: bool = False  # the text is a held first half and this message, read as one answer

    @classmethod
    def begin(cls, flow: Flow, state: LeadState, turn: Turn) -> "Draft":
        """A draft for `turn`; a pending confirmation only lasts one turn unless it is asked again, and a
        held first half is read with this message (unless this one is a command such as STOP)."""
        if state.language not in flow.languages:
            state = state.evolve(language=flow.languages[0])
        text = clean(turn.text) or clean(turn.button_payload)
        whole = joined(state.held, text, turn.now) if text and detect_intent(text) is None else None
        return cls(flow, state.evolve(pending=None, held=None), turn, whole or text, pending=state.pending,
                   joined=whole is not None)

    @property
    def voice(self) -> bool:
        """Whether the replies will be spoken on a call."""
        return self.turn.channel == VOICE

    @property
    def now_iso(self) -> str:
        """The turn's time as ISO-8601 UTC."""
        now = self.turn.now
        return (now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)).isoformat()

    def result(self) -> StepResult:
        """The finished step."""
        return StepResult(state=self.state, replies=tuple(self.replies), events=tuple(self.events),
                          questions=tuple(self.questions))

    def question(self) -> QuestionStage | None:
        """The question stage the lead is at, if any."""
        return next((stage for stage in self.flow.stages if stage.id == self.state.stage), None)

    def emit(self, kind: EventKind, **data: Any) -> None:
        """Report what happened."""
        self.events.append(Event(kind, data))

    def say(self, key: str, **values: str) -> None:
        """Reply with a global text (its voice version on calls), placeholders filled from the slots and `values`."""
        text = self.flow.text(key, self.state.language, {**self.state.slots, **values}, voice=self.voice)
        if text:  # a text of emoji alone has nothing left to say on a call
            self.replies.append(text)

    def reply(self, text: str) -> None:
        """Reply with a text that is not the flow's (a knowledge answer), made speakable on calls."""
        text = speakable(text, self.state.language) if self.voice else text
        if text:
            self.replies.append(text)

    def reask(self, stage: QuestionStage) -> None:
        """Ask the open question again; after answering the lead's question, lead back to it first."""
        if not self.aside or self.flow.knowledge is None or (self.voice and stage.defer_to_whatsapp):
            self.ask(stage)
            return
        before = len(self.replies)
        self.ask(stage)
        lead_in = self.flow.knowledge.reply("back_to_question", self.state.language)
        self.replies[before] = f"{lead_in} {self.replies[before]}"

    def ask(self, stage: QuestionStage, retry: bool = False) -> None:
        """Ask a question (or ask it again); a call leaves questions meant for WhatsApp to WhatsApp."""
        if self.voice and stage.defer_to_whatsapp:
            self.defer(stage)
            return
        text = stage.retry if retry else stage.ask
        self.replies.append(text(self.state.language, self.state.slots, voice=self.voice))

    def defer(self, stage: QuestionStage) -> None:
        """Tell the caller this question will be asked on WhatsApp, and remember to ask it there."""
        if stage.slot not in self.state.deferred:
            self.state = self.state.evolve(deferred=(*self.state.deferred, stage.slot))
        self.emit(EventKind.DEFERRED_TO_WHATSAPP, slot=stage.slot)
        # Promise a WhatsApp message only when one can be sent; otherwise ask the lead to write first.
        unreachable = not self.turn.whatsapp_reachable and WRITE_TO_US in self.flow.texts
        self.say(WRITE_TO_US if unreachable else "email_by_whatsapp")

    def move_to(self, stage_id: str) -> None:
        """Enter another stage, with a fresh retry count."""
        if stage_id != self.state.stage:
            self.emit(EventKind.STAGE_CHANGED, **{"from": self.state.stage, "to": stage_id})
            self.state = self.state.evolve(stage=stage_id, retries=0, stage_entered_at=self.now_iso)

    def fill(self, stage: QuestionStage, value: Any) -> None:
        """Store an answer and rescore."""
        slots = {**self.state.slots, stage.slot: value}
        total, reasons = scoring.score(self.flow, slots)
        self.state = self.state.evolve(slots=slots, score=total, score_reasons=reasons)
        self.emit(EventKind.SLOT_FILLED, slot=stage.slot, stage=stage.id)

    def next_open_stage(self) -> QuestionStage | None:
        """The first question, in flow order, whose slot is still empty."""
        return next((stage for stage in self.flow.stages if stage.slot not in self.state.slots), None)


def advance(draft: Draft) -> None:
    """Ask the next open question, or finish with the outcome when none is left."""
    stage = draft.next_open_stage()
    if stage is not None:
        draft.move_to(stage.id)
        draft.ask(stage)
        return
    result = scoring.outcome(draft.flow, draft.state.slots, draft.state.score)
    if result.stage == HANDOFF:
        draft.state = draft.state.evolve(handed_off=True, waiting_ack_at=None)
        draft.emit(EventKind.HANDOFF_REQUESTED, reason=result.reason)
        draft.move_to(HANDOFF)
        draft.say(HANDOFF)
        return
    draft.move_to(result.stage)
    if result.reason is None:
        draft.emit(EventKind.QUALIFIED, score=draft.state.score)
    else:
        draft.emit(EventKind.DISQUALIFIED, score=draft.state.score, reason=result.reason)
    # Short of the threshold is not ruled out: a neutral close (a specialist may still follow up),
    # never the "not the best fit" text, which only a disqualifying rule earns.
    neutral = result.reason == scoring.LOW_SCORE and NEUTRAL_CLOSE in draft.flow.texts
    draft.say(NEUTRAL_CLOSE if neutral else result.stage)  # the closing texts are named after the outcome stages


def resume(draft: Draft) -> None:
    """Pick the conversation up again: ask the open question, or say where things stand."""
    question = draft.question()
    if question is not None:
        draft.ask(question)
    elif draft.state.stage in TERMINAL_STAGES:
        if draft.state.stage != HANDOFF:
            draft.say("done")
    else:
        advance(draft)  # new lead, or a stage this flow no longer has
