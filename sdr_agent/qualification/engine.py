"""The qualification engine: one pure, deterministic step per inbound message."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from . import scoring
from .flow_model import Flow, QuestionStage
from .intents import Intent, detect_intent
from .language import detected_switch, requested_language
from .textnorm import clean
from .types import STAGE_NEW, TERMINAL_STAGES, Event, EventKind, LeadState, StepResult, Turn
from .validators import SIDE_TYPES, find_answer, parse_answer

HANDOFF = "handoff"
DECLINED = "declined"
RAW_ANSWER_CHARS = 200


def initial_state(language: str) -> LeadState:
    """The state of a lead we have never answered."""
    return LeadState(stage=STAGE_NEW, language=language)


def step(flow: Flow, state: LeadState, turn: Turn) -> StepResult:
    """Read one message and return the new state, the replies to send and what happened."""
    draft = _Draft(flow, state, turn, clean(turn.text) or clean(turn.button_payload))
    if draft.state.language not in flow.languages:
        draft.state = draft.state.evolve(language=flow.languages[0])
    _handle(draft)
    return StepResult(state=draft.state, replies=tuple(draft.replies), events=tuple(draft.events))


@dataclass
class _Draft:
    """The step being built: state so far, replies and events."""

    flow: Flow
    state: LeadState
    turn: Turn
    text: str
    replies: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def now_iso(self) -> str:
        now = self.turn.now
        return (now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)).isoformat()

    def question(self) -> QuestionStage | None:
        """The question stage the lead is at, if any."""
        return next((stage for stage in self.flow.stages if stage.id == self.state.stage), None)

    def emit(self, kind: EventKind, **data: Any) -> None:
        self.events.append(Event(kind, data))

    def say(self, key: str) -> None:
        self.replies.append(self.flow.text(key, self.state.language, self.state.slots))

    def ask(self, stage: QuestionStage, retry: bool = False) -> None:
        text = stage.retry if retry else stage.ask
        self.replies.append(text(self.state.language, self.state.slots, voice=self.turn.channel == "voice"))

    def move_to(self, stage_id: str) -> None:
        if stage_id != self.state.stage:
            self.emit(EventKind.STAGE_CHANGED, **{"from": self.state.stage, "to": stage_id})
            self.state = self.state.evolve(stage=stage_id, retries=0, stage_entered_at=self.now_iso)

    def fill(self, stage: QuestionStage, value: Any) -> None:
        slots = {**self.state.slots, stage.slot: value}
        total, reasons = scoring.score(self.flow, slots)
        self.state = self.state.evolve(slots=slots, score=total, score_reasons=reasons)
        self.emit(EventKind.SLOT_FILLED, slot=stage.slot, stage=stage.id)

    def next_open_stage(self) -> QuestionStage | None:
        """The first question, in flow order, whose slot is still empty."""
        return next((stage for stage in self.flow.stages if stage.slot not in self.state.slots), None)


def _handle(draft: _Draft) -> None:
    state = draft.state
    intent = detect_intent(draft.text) if draft.text else None
    if state.opted_out:
        # Silence until the lead opts back in: no reply and no event for anything else.
        if intent is Intent.OPT_IN:
            _opt_in(draft)
        return
    if state.stage == HANDOFF and intent not in (Intent.OPT_OUT, Intent.RESTART):
        return  # a person is talking to the lead now
    only_language_request = _update_language(draft)
    question = draft.question()
    if intent is not None:
        _INTENT_HANDLERS[intent](draft)
    elif only_language_request:
        _continue(draft)
    elif state.stage == STAGE_NEW:
        _fill_volunteered(draft, current=None)
        _advance(draft)
    elif state.stage in TERMINAL_STAGES:
        draft.say("done")
    elif question is None:
        _continue(draft)  # a stage this flow no longer has
    elif not draft.text:
        if draft.turn.has_media:
            draft.say("media_only")
        draft.ask(question)
    else:
        _answer(draft, question)


def _update_language(draft: _Draft) -> bool:
    """Switch language when the lead clearly writes in, or asks for, another; True if that was all they said."""
    languages = draft.flow.languages
    requested = requested_language(draft.text, languages)
    target = requested or detected_switch(draft.text, draft.state.language, languages)
    if target is not None and target != draft.state.language:
        draft.emit(EventKind.LANGUAGE_CHANGED, **{"from": draft.state.language, "to": target})
        draft.state = draft.state.evolve(language=target)
    return requested is not None


def _continue(draft: _Draft) -> None:
    """Pick the conversation up again: ask the open question, or say where things stand."""
    question = draft.question()
    if question is not None:
        draft.ask(question)
    elif draft.state.stage in TERMINAL_STAGES:
        if draft.state.stage != HANDOFF:
            draft.say("done")
    else:
        _advance(draft)  # new lead, or a stage this flow no longer has


def _advance(draft: _Draft) -> None:
    """Ask the next open question, or finish with the outcome when none is left."""
    stage = draft.next_open_stage()
    if stage is not None:
        draft.move_to(stage.id)
        draft.ask(stage)
        return
    result = scoring.outcome(draft.flow, draft.state.slots, draft.state.score)
    draft.move_to(result.stage)
    if result.reason is None:
        draft.emit(EventKind.QUALIFIED, score=draft.state.score)
    else:
        draft.emit(EventKind.DISQUALIFIED, score=draft.state.score, reason=result.reason)
    draft.say(result.stage)  # the closing texts are named after the outcome stages


def _answer(draft: _Draft, question: QuestionStage) -> None:
    """Read the message as the answer to the current question (and whatever else it clearly says)."""
    parsed = parse_answer(question, draft.text, draft.state.language, draft.turn.now)
    if question.type == "consent" and parsed.ok and parsed.value is False:
        draft.move_to(DECLINED)
        draft.emit(EventKind.DECLINED)
        draft.say(DECLINED)
        return
    volunteered = _fill_volunteered(draft, current=question)
    if parsed.ok or (question.type == "consent" and volunteered):
        # Volunteering details at the consent question is as good as a yes.
        draft.fill(question, parsed.value if parsed.ok else True)
        _advance(draft)
    elif draft.turn.resumed:
        draft.say("welcome_back")
        draft.ask(question)
    elif volunteered:
        draft.ask(question)  # progress was made: ask again without counting a failed answer
    else:
        _reject(draft, question)


def _fill_volunteered(draft: _Draft, current: QuestionStage | None) -> bool:
    """Fill empty slots of other questions that the message clearly answers; never overwrite."""
    filled = False
    for stage in draft.flow.stages:
        if stage is current or stage.type not in SIDE_TYPES or stage.slot in draft.state.slots:
            continue
        found = find_answer(stage, draft.text, draft.state.language, draft.turn.now)
        if found.ok:
            draft.fill(stage, found.value)
            filled = True
    return filled


def _reject(draft: _Draft, question: QuestionStage) -> None:
    retries = draft.state.retries + 1
    draft.state = draft.state.evolve(retries=retries)
    draft.emit(EventKind.SLOT_REJECTED, slot=question.slot, retries=retries)
    if retries < draft.flow.retry_limit:
        draft.ask(question, retry=True)
    elif question.on_retry_limit == HANDOFF:
        _hand_off(draft, "retry_limit")
    else:
        # Keep what they said for the team, marked unverified, and move on instead of looping.
        draft.fill(question, {"raw": draft.text[:RAW_ANSWER_CHARS], "unverified": True})
        draft.say("retry_limit_skip")
        _advance(draft)


def _hand_off(draft: _Draft, reason: str) -> None:
    draft.state = draft.state.evolve(handed_off=True)
    draft.emit(EventKind.HANDOFF_REQUESTED, reason=reason)
    draft.move_to(HANDOFF)
    draft.say(HANDOFF)


def _opt_out(draft: _Draft) -> None:
    draft.state = draft.state.evolve(opted_out=True)
    draft.emit(EventKind.OPTED_OUT)
    draft.say("opted_out")


def _opt_in(draft: _Draft) -> None:
    draft.state = draft.state.evolve(opted_out=False)
    draft.emit(EventKind.OPTED_IN)
    draft.say("opted_in")
    _continue(draft)


def _opt_in_when_subscribed(draft: _Draft) -> None:
    _continue(draft)  # "voltar" while subscribed: nothing to undo, just repeat the question


def _restart(draft: _Draft) -> None:
    old = draft.state
    draft.emit(EventKind.RESET_REQUESTED, reason="user_requested")
    draft.state = initial_state(old.language).evolve(stage=old.stage)
    draft.say("restart")
    first = draft.flow.stages[0]
    draft.move_to(first.id)
    draft.state = draft.state.evolve(stage_entered_at=draft.now_iso)
    draft.ask(first)


def _human(draft: _Draft) -> None:
    _hand_off(draft, "user_requested")


def _help(draft: _Draft) -> None:
    draft.emit(EventKind.HELP_SHOWN, stage=draft.state.stage)
    draft.say("help")
    _continue(draft)


_INTENT_HANDLERS = {
    Intent.OPT_OUT: _opt_out,
    Intent.OPT_IN: _opt_in_when_subscribed,
    Intent.RESTART: _restart,
    Intent.HUMAN: _human,
    Intent.HELP: _help,
}
