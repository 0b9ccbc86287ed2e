"""The qualification engine: one pure, deterministic step per inbound message."""
from __future__ import annotations

import re
from typing import Any, Mapping

from . import scoring
from .asides import take_asides
from .budgets import meant_thousands
from .confirmations import answer_after_no
from .corrections import find_corrections, has_correction_marker, late_facts
from .display import display_value
from .draft import HANDOFF, Draft, advance, resume
from .flow_model import Flow, QuestionStage
from .fragments import is_incomplete
from .intents import Intent, detect_intent
from .introduction import role_and_need, understood
from .language import detected_switch, first_language, requested_language
from .objections import objects_to_close
from .optout import meant_the_meeting
from .refusals import DECLINED as NOT_ANSWERED, UNPARSED, is_refusal, not_given
from .types import STAGE_NEW, TERMINAL_STAGES, EventKind, LeadState, StepResult, Turn
from .validators import SIDE_TYPES, ParseResult, find_answer, parse_answer
from .validators.consent import parse as parse_yes_no
from .waiting import WAITING_TEXT, ack_due

OUTCOME_STAGES = ("qualified", "disqualified")
BOOKED = "booked"  # where a correction can still change the outcome

DECLINED = "declined"
PROPER_NAME_TYPES = ("person_name", "company", "email")  # answers whose words say nothing of the lead's language
CLOSED_STAGES = ("disqualified", DECLINED)  # closes a lead may question ("what do you mean, you can't help us?")
UNDERSTOOD = "understood"  # optional text: the facts of a first message, said back before the next question
CLOSE_OBJECTION = "close_objection"  # optional text; without it, the hand-off text


def initial_state(language: str) -> LeadState:
    """The state of a lead we have never answered."""
    return LeadState(stage=STAGE_NEW, language=language)


def step(flow: Flow, state: LeadState, turn: Turn) -> StepResult:
    """Read one message and return the new state, the replies to send and what happened."""
    draft = Draft.begin(flow, state, turn)
    _handle(draft)
    return draft.result()


def _handle(draft: Draft) -> None:
    state = draft.state
    intent = detect_intent(draft.text) if draft.text else None
    if state.opted_out:
        # Silence until the lead opts back in: no reply and no event for anything else.
        if intent is Intent.OPT_IN:
            _opt_in(draft)
        elif meant_the_meeting(draft.text):
            _undo_opt_out(draft)
        return
    if state.stage == HANDOFF and intent not in (Intent.OPT_OUT, Intent.RESTART):
        _acknowledge_waiting(draft)  # a person will answer; the bot only says it is not ignoring the lead
        return
    only_language_request = _update_language(draft)
    question = draft.question()
    if intent is not None:
        _INTENT_HANDLERS[intent](draft)
    elif only_language_request:
        resume(draft)
    elif state.stage in CLOSED_STAGES and objects_to_close(draft.text):
        _answer_objection(draft)
    else:
        # A question or a callback request is answered first; what is left may still answer the open question.
        take_asides(draft, question)
        _read(draft, question)


def _read(draft: Draft, question: QuestionStage | None) -> None:
    """Read the message (or what is left of it after the lead's questions) at the lead's stage."""
    state = draft.state
    if state.stage == STAGE_NEW:
        if not draft.turn.confirm:
            _fill_volunteered(draft, current=None)
            _fill_introduction(draft, state.slots)
        advance(draft)
    elif state.stage in OUTCOME_STAGES and (corrections := _corrections(draft, None) or _late_facts(draft)):
        _correct_after_outcome(draft, corrections)
    elif state.stage == BOOKED and (facts := _late_facts(draft)):
        _store_corrections(draft, facts)  # the meeting stands; only the lead's details change
    elif state.stage in TERMINAL_STAGES:
        if not draft.aside:
            draft.say("done")
    elif question is None:
        resume(draft)  # a stage this flow no longer has
    elif (pending := _pending_answer(draft, question)) is not None:
        _settle_confirmation(draft, question, pending)
    elif draft.voice and question.defer_to_whatsapp:
        draft.ask(question)  # calls never take this answer: say again that it is asked on WhatsApp
    elif not draft.voice and question.slot in state.deferred:
        _resume_deferred(draft, question)
    elif not draft.text:
        if draft.turn.has_media and not draft.aside:
            draft.say("media_only")
        draft.reask(question)
    elif not draft.voice and not draft.joined and question.type != "consent" and is_incomplete(draft.text):
        # "trabalho na": wait for the rest instead of storing half an answer (no reply, no retry).
        draft.state = draft.state.evolve(held={"text": draft.text, "at": draft.now_iso})
    elif question.type != "consent" and is_refusal(draft.text):
        _decline(draft, question)
    elif corrections := _corrections(draft, question):
        _correct(draft, question, corrections)
    else:
        _answer(draft, question, _parse(draft, question))


def _update_language(draft: Draft) -> bool:
    """Switch language when the lead clearly writes in, or asks for, another; True if that was all they said."""
    languages = draft.flow.languages
    requested = requested_language(draft.text, languages)
    target = requested or _written_in(draft, languages)
    if target is not None and target != draft.state.language:
        draft.emit(EventKind.LANGUAGE_CHANGED, **{"from": draft.state.language, "to": target})
        draft.state = draft.state.evolve(language=target)
    return requested is not None


def _written_in(draft: Draft, languages: tuple[str, ...]) -> str | None:
    """The language the message is evidence of: any at the first message, free text only later."""
    if draft.state.stage == STAGE_NEW:
        return first_language(draft.text, languages)
    question = draft.question()
    text = draft.text
    if question is not None and question.type in PROPER_NAME_TYPES:
        # A name, company or e-mail is no evidence ("The Sales Company" from a Portuguese speaker):
        # only the words around it count ("Sorry, I don't speak Portuguese. My name is Mark").
        parsed = _parse(draft, question)
        if parsed.ok and isinstance(parsed.value, str):
            text = re.sub(re.escape(parsed.value), " ", text, flags=re.IGNORECASE)
    return detected_switch(text, draft.state.language, languages)


def _parse(draft: Draft, question: QuestionStage) -> ParseResult:
    return parse_answer(question, draft.text, draft.state.language, draft.turn.now)


def _answer(draft: Draft, question: QuestionStage, parsed: ParseResult) -> None:
    """Read the message as the answer to the current question (and whatever else it clearly says)."""
    if question.type == "consent" and parsed.ok and parsed.value is False:
        draft.move_to(DECLINED)
        draft.emit(EventKind.DECLINED)
        draft.say(DECLINED)
        return
    if draft.turn.confirm and parsed.ok and question.type != "consent":
        _ask_confirmation(draft, question, parsed.value)
        return
    if parsed.ok and question.type == "money" and (thousands := meant_thousands(parsed.value, draft.text)):
        _ask_confirmation(draft, question, thousands, literal=parsed.value)  # "uns 2 conto": R$ 2 mil?
        return
    # A message heard with low confidence is not trusted for anything beyond the question itself.
    before = draft.state.slots
    volunteered = not draft.turn.confirm and _fill_volunteered(draft, current=question)
    if volunteered and question.type == "consent":
        _fill_introduction(draft, before)
    if parsed.ok or (question.type == "consent" and volunteered):
        # Volunteering details at the consent question is as good as a yes.
        draft.fill(question, parsed.value if parsed.ok else True)
        if _is_hot(draft):
            _hand_off(draft, "hot_lead")
            return
        advance(draft)
    elif draft.turn.resumed:
        draft.say("welcome_back")
        draft.ask(question)
    elif volunteered or draft.aside:
        # Progress was made, or a question answered: ask again without counting a failure.
        if volunteered and not draft.aside and draft.flow.knowledge is not None:
            draft.reply(draft.flow.knowledge.reply("got_it", draft.state.language))
        draft.reask(question)
    else:
        _reject(draft, question)


def _decline(draft: Draft, question: QuestionStage) -> None:
    """The lead would rather not answer: store that it was not given, acknowledge it, and move on.

    Where the flow says `on_refusal: ask_again`, the first refusal at the question is met with one
    more, respectful ask (counted like a retry, so it happens once).
    """
    knowledge = draft.flow.knowledge
    if question.on_refusal == "ask_again" and draft.state.retries == 0 and knowledge is not None:
        draft.state = draft.state.evolve(retries=1)
        draft.reply(knowledge.reply("ask_again", draft.state.language))
        draft.ask(question)
        return
    draft.fill(question, not_given(NOT_ANSWERED))
    draft.emit(EventKind.SLOT_DECLINED, slot=question.slot, reason=NOT_ANSWERED)
    if knowledge is not None:
        draft.reply(knowledge.reply("declined", draft.state.language))
    else:
        draft.say("retry_limit_skip")
    advance(draft)


def _corrections(draft: Draft, question: QuestionStage | None) -> list[tuple[QuestionStage, Any]]:
    """Earlier answers the message corrects ("na verdade meu orçamento é 20 mil"); only when it says so."""
    if draft.turn.confirm or not has_correction_marker(draft.text):
        return []
    others = (stage for stage in draft.flow.stages if stage is not question)
    return find_corrections(others, draft.state.slots, draft.text, draft.state.language, draft.turn.now)


def _late_facts(draft: Draft) -> list[tuple[QuestionStage, Any]]:
    """The real e-mail sent after the close: it updates the lead instead of being dropped."""
    if draft.turn.confirm:
        return []
    return late_facts(draft.flow, draft.state.slots, draft.text, draft.state.language, draft.turn.now)


def _store_corrections(draft: Draft, facts: list[tuple[QuestionStage, Any]]) -> None:
    """Store corrected or late answers (the score follows) and say so briefly; the caller decides what next."""
    for stage, value in facts:
        draft.fill(stage, value)
        draft.emit(EventKind.SLOT_CORRECTED, slot=stage.slot, stage=stage.id)
    if draft.flow.knowledge is not None:
        draft.reply(draft.flow.knowledge.reply("corrected", draft.state.language))


def _correct(draft: Draft, question: QuestionStage, corrections: list[tuple[QuestionStage, Any]]) -> None:
    """Replace the corrected answers (the score follows), say so briefly, and ask the open question again."""
    _store_corrections(draft, corrections)
    draft.ask(question)


def _correct_after_outcome(draft: Draft, corrections: list[tuple[QuestionStage, Any]]) -> None:
    """A correction after the outcome ("errei o e-mail, é …"): stored, and the outcome decided again on it."""
    _store_corrections(draft, corrections)
    before = draft.state.stage
    decided = scoring.outcome(draft.flow, draft.state.slots, draft.state.score)
    if decided.stage != before:
        advance(draft)  # no open question left: this emits the new outcome and its closing text


def _ask_confirmation(draft: Draft, question: QuestionStage, value: Any, literal: Any = None) -> None:
    """Keep the answer aside and ask the lead whether it was understood right (`literal`: what a plain
    "no" means instead, when the question was our reading of the answer rather than the answer)."""
    heard = display_value(question, value, draft.state.language)
    pending = {"stage": question.id, "value": value, "heard": heard}
    draft.state = draft.state.evolve(pending=pending if literal is None else {**pending, "literal": literal})
    draft.emit(EventKind.CONFIRMATION_REQUESTED, stage=question.id)
    draft.say("confirm", heard=heard)


def _pending_answer(draft: Draft, question: QuestionStage) -> Mapping[str, Any] | None:
    """The answer to this question that last turn asked the lead to confirm, if any."""
    pending = draft.pending
    return pending if pending is not None and pending.get("stage") == question.id and "value" in pending else None


def _settle_confirmation(draft: Draft, question: QuestionStage, pending: Mapping[str, Any]) -> None:
    """Yes stores the answer set aside, no asks again, anything else is a new answer."""
    if not draft.text:
        # Nothing heard: the confirmation is still the open question.
        draft.state = draft.state.evolve(pending=pending)
        draft.say("confirm", heard=str(pending.get("heard", "")))
        return
    reply = parse_yes_no(draft.text, draft.state.language)
    if reply.ok and reply.value:
        draft.fill(question, pending["value"])
        advance(draft)
    elif reply.ok and (corrected := answer_after_no(draft.text)) is not None and question.type != "consent":
        # "não, é Rápido Sul": the no carries the right answer; read it, not the whole message.
        _answer(draft, question, parse_answer(question, corrected, draft.state.language, draft.turn.now))
    elif reply.ok and pending.get("literal") is not None:
        # "R$ 2.000?" - "não": the lead meant the amount as written; asking again would loop.
        draft.fill(question, pending["literal"])
        advance(draft)
    elif reply.ok:
        draft.ask(question)
    else:
        _answer(draft, question, _parse(draft, question))


def _resume_deferred(draft: Draft, question: QuestionStage) -> None:
    """The first written message after a call left this question to WhatsApp."""
    draft.state = draft.state.evolve(deferred=tuple(slot for slot in draft.state.deferred if slot != question.slot))
    parsed = _parse(draft, question) if draft.text else None
    if parsed is not None and parsed.ok:
        _answer(draft, question, parsed)
        return
    draft.say("deferred_lead_in")
    draft.ask(question)


def _fill_volunteered(draft: Draft, current: QuestionStage | None) -> bool:
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


def _fill_introduction(draft: Draft, before: Mapping[str, Any]) -> None:
    """A lead who introduced themselves: fill the role and need they stated, and say back what was understood."""
    if draft.state.slots != before:  # only alongside facts already read: "quero saber mais" alone is no need
        for slot, value in role_and_need(draft.flow, draft.state.slots, draft.text, draft.state.language).items():
            draft.fill(next(stage for stage in draft.flow.stages if stage.slot == slot), value)
    facts = understood(draft.flow, before, draft.state.slots, draft.state.language)
    if facts and UNDERSTOOD in draft.flow.texts:
        draft.say(UNDERSTOOD, facts=facts)


def _reject(draft: Draft, question: QuestionStage) -> None:
    retries = draft.state.retries + 1
    draft.state = draft.state.evolve(retries=retries)
    draft.emit(EventKind.SLOT_REJECTED, slot=question.slot, retries=retries)
    if retries < draft.flow.retry_limit:
        draft.ask(question, retry=True)
    elif question.on_retry_limit == HANDOFF:
        _hand_off(draft, "retry_limit")
    else:
        # Never store what could not be read as the answer: the slot records that it was not given.
        draft.fill(question, not_given(UNPARSED))
        draft.emit(EventKind.SLOT_DECLINED, slot=question.slot, reason=UNPARSED)
        draft.say("retry_limit_skip")
        advance(draft)


def _is_hot(draft: Draft) -> bool:
    """The score reached the flow's hand-off threshold: a person should take over now."""
    threshold = draft.flow.hand_off_at
    return threshold is not None and draft.state.score >= threshold and not draft.state.handed_off


def _acknowledge_waiting(draft: Draft) -> None:
    """A short "a person will reply here", at most once per interval, to a lead writing while handed off."""
    if WAITING_TEXT in draft.flow.texts and draft.text and ack_due(draft.state.waiting_ack_at, draft.turn.now):
        draft.state = draft.state.evolve(waiting_ack_at=draft.now_iso)
        draft.say(WAITING_TEXT)


def _hand_off(draft: Draft, reason: str) -> None:
    draft.state = draft.state.evolve(handed_off=True, waiting_ack_at=None)
    draft.emit(EventKind.HANDOFF_REQUESTED, reason=reason)
    draft.move_to(HANDOFF)
    draft.say(HANDOFF)


def _answer_objection(draft: Draft) -> None:
    """A lead questioning the close gets a person, not the closing text again."""
    draft.state = draft.state.evolve(handed_off=True, waiting_ack_at=None)
    draft.emit(EventKind.HANDOFF_REQUESTED, reason="asked_after_close")
    draft.move_to(HANDOFF)
    draft.say(CLOSE_OBJECTION if CLOSE_OBJECTION in draft.flow.texts else HANDOFF)


def _opt_out(draft: Draft) -> None:
    draft.state = draft.state.evolve(opted_out=True)
    draft.emit(EventKind.OPTED_OUT)
    draft.say("opted_out")


def _opt_in(draft: Draft) -> None:
    draft.state = draft.state.evolve(opted_out=False)
    draft.emit(EventKind.OPTED_IN)
    draft.say("opted_in")
    resume(draft)


def _undo_opt_out(draft: Draft) -> None:
    """The lead only meant to cancel the meeting: undo the opt-out and say where things stand."""
    draft.state = draft.state.evolve(opted_out=False)
    draft.emit(EventKind.OPTED_IN)
    draft.say("opt_out_undone" if "opt_out_undone" in draft.flow.texts else "opted_in")
    if draft.state.stage not in TERMINAL_STAGES:
        resume(draft)


def _opt_in_when_subscribed(draft: Draft) -> None:
    resume(draft)  # "voltar" while subscribed: nothing to undo, just repeat the question


def _restart(draft: Draft) -> None:
    old = draft.state
    draft.emit(EventKind.RESET_REQUESTED, reason="user_requested")
    draft.state = initial_state(old.language).evolve(stage=old.stage)
    draft.say("restart")
    first = draft.flow.stages[0]
    draft.move_to(first.id)
    draft.state = draft.state.evolve(stage_entered_at=draft.now_iso)
    draft.ask(first)


def _human(draft: Draft) -> None:
    _hand_off(draft, "user_requested")


def _help(draft: Draft) -> None:
    draft.emit(EventKind.HELP_SHOWN, stage=draft.state.stage)
    draft.say("help")
    resume(draft)


_INTENT_HANDLERS = {
    Intent.OPT_OUT: _opt_out,
    Intent.OPT_IN: _opt_in_when_subscribed,
    Intent.RESTART: _restart,
    Intent.HUMAN: _human,
    Intent.HELP: _help,
}
