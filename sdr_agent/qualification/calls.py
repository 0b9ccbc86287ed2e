"""What to say when a call connects, before the caller has said anything."""
from __future__ import annotations

from datetime import datetime

from .draft import HANDOFF, VOICE, Draft, advance, resume
from .flow_model import Flow
from .types import STAGE_NEW, TERMINAL_STAGES, LeadState, StepResult, Turn
from .waiting import WAITING_TEXT


def call_opening(flow: Flow, state: LeadState, now: datetime, whatsapp_reachable: bool = True) -> StepResult:
    """The greeting for a new lead, a welcome back with the open question, or where things stand."""
    draft = Draft.begin(flow, state, Turn(text="", now=now, channel=VOICE, whatsapp_reachable=whatsapp_reachable))
    question = draft.question()
    if draft.state.opted_out:
        draft.say("opted_out_call")
    elif draft.state.stage == STAGE_NEW:
        advance(draft)  # the same greeting and events as a first message
    elif draft.state.stage == HANDOFF and WAITING_TEXT in flow.texts:
        draft.say(WAITING_TEXT)  # a caller waiting for a person hears that one will call, not a goodbye
    elif draft.state.stage in TERMINAL_STAGES:
        draft.say("done")
    elif question is None:
        resume(draft)  # a stage this flow no longer has
    else:
        draft.say("welcome_back_call", topic=question.topics[draft.state.language])
        draft.ask(question)
    return draft.result()
