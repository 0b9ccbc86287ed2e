"""What to say when a call connects, before the caller has said anything."""
from __future__ import annotations

from datetime import datetime

from .draft import VOICE, Draft, advance, resume
from .flow_model import Flow
from .types import STAGE_NEW, TERMINAL_STAGES, LeadState, StepResult, Turn


def call_opening(flow: Flow, state: LeadState, now: datetime) -> StepResult:
    """The greeting for a new lead, a welcome back with the open question, or where things stand."""
    draft = Draft.begin(flow, state, Turn(text="", now=now, channel=VOICE))
    question = draft.question()
    if draft.state.opted_out:
        draft.say("opted_out_call")
    elif draft.state.stage == STAGE_NEW:
        advance(draft)  # the same greeting and events as a first message
    elif draft.state.stage in TERMINAL_STAGES:
        draft.say("done")
    elif question is None:
        resume(draft)  # a stage this flow no longer has
    else:
        draft.say("welcome_back_call", topic=question.topics[draft.state.language])
        draft.ask(question)
    return draft.result()
