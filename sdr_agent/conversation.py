"""The conversation service: the one place that locks, transacts and decides what is stored."""
from __future__ import annotations

import logging
from contextlib import ExitStack, contextmanager
from datetime import datetime, timedelta
from typing import Callable, Iterator, Sequence

from sqlalchemy import bindparam, func, insert, null, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from .booking.desk import BOOKED, QUALIFIED, BookingDesk
from .config import Settings
from .leadgate import Admission, LeadGate
from .messages import CallStart, InboundMessage, Outcome, Render, Reply
from .models import Call, ConversationThread, Lead, LeadQuestion, Message, utcnow
from .phone import language_for_number, phone_hash
from .qualification import (
    STAGE_NEW,
    TERMINAL_STAGES,
    Event,
    EventKind,
    Flow,
    LeadState,
    StepResult,
    Turn,
    answerable_question,
    call_opening,
    corrects_an_answer,
    step,
)
from .qualification.intents import detect_intent
from .lead_state import seconds_in_stage
from .qualification.matcher import normalised
from .outbound.delivery import last_whatsapp_inbound
from .outbound.triggers import queue_for_events
from .outbound.whatsapp_sender import in_window
from .ratelimit import Verdict
from .scheduling import detect_booking_intent
from .slow_calls import CallOutside
from .telemetry import message_throttled, message_trace
from .turn_notes import TurnNotes
from .turn_writes import INSERT_MESSAGES, RECEIVED, message_rows, store_turn as _store_turn
from .understanding.history import recent_turns
from .understanding.service import Understanding
from .understanding.usage import store_model_turns
from .understanding.voice_notes import VoiceNotes
from .worker.dispatch import Dispatcher

log = logging.getLogger(__name__)

VOICE = "voice"
BOOKING_STAGES = (QUALIFIED, BOOKED)
TRANSACTION_NAMES = {"whatsapp": "whatsapp.inbound", VOICE: "voice.turn"}
RESET_IDLE = "idle_timeout"
RESET_USER = "user_requested"
RESET_ERROR = "error"
RESET_CALL = "call_started"
THROTTLED = "throttled"  # an inbound message over the rate limit: stored, never processed
RATE_LIMITED_TEXT = "rate_limited"  # the flow's notice to a lead over the rate limit
# Twilio CallStatus values after which nothing more happens on the call.
FINAL_CALL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})

# Errors that mean "the database is unreachable", answered 503 so Twilio retries later.
DATABASE_DOWN_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)

# The hot path's statements, built once: a statement object remembers its cache key, so SQLAlchemy
# finds the compiled SQL without walking a freshly built statement on every message.
# The reply stored for a provider SID: the empty string for a stored message answered with nothing,
# NULL when the SID was never stored.
_STORED_REPLY = (select(func.coalesce(Message.__table__.c.reply_body, ""))
                 .where(Message.__table__.c.provider_sid == bindparam("sid")).scalar_subquery())
# OF leads: the stored reply is read, never locked (it may belong to another lead's row).
_LOCK_LEAD = select(Lead, null()).where(Lead.phone_hash == bindparam("lead_key")).with_for_update(of=Lead)
_LOCK_LEAD_WITH_REPLY = (select(Lead, _STORED_REPLY).where(Lead.phone_hash == bindparam("lead_key"))
                         .with_for_update(of=Lead))
_SELECT_STORED_REPLY = select(_STORED_REPLY)
_INSERT_QUESTIONS = insert(LeadQuestion.__table__)
# A concurrent first message may have created the lead: then we wait on its lock. No conflict target:
# phone and phone_hash are both unique, and either may be the one that collides.
_INSERT_LEAD = {"postgresql": postgresql.insert(Lead.__table__).on_conflict_do_nothing(),
                "sqlite": sqlite.insert(Lead.__table__).on_conflict_do_nothing()}


class StorageUnavailable(RuntimeError):
    """Nothing could be stored (database unreachable, or even the recovery failed)."""


class ConversationService:
    """Turns one inbound message, call opening or voice turn into one stored, exactly-once reply."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        gate: LeadGate,
        flow: Flow,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
        dispatcher: Dispatcher | None = None,
        booking: BookingDesk | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.booking = booking
        self.session_factory = session_factory
        self.gate = gate
        self.flow = flow
        self.settings = settings
        self.clock = clock
        self.flow_version = f"{flow.name}:{flow.version}"
        self.understanding = Understanding.from_settings(settings.llm, gate.redis)  # None: the rules alone
        self.voice_notes = VoiceNotes.from_settings(settings.llm, settings.twilio_account_sid,
                                                    settings.twilio_auth_token)

    def handle(self, message: InboundMessage, render: Render) -> Reply:
        """Process a message or voice turn once; a repeated provider key gets the stored reply."""
        with self._trace(message.channel) as notes:
            notes.never_send(message.phone, message.text, message.profile_name, message.button_payload)
            return self._exactly_once(
                message.sid,
                message.retry_key or message.sid,
                message.phone,
                notes,
                lambda session, lead, now: self._answer(session, lead, message, render, now, notes),
                lambda lead_key, error: self._recover(message, lead_key, render, error, notes),
                # Twilio paces a call's turns itself (one <Gather> at a time): only messages are counted.
                None if message.channel == VOICE else
                lambda lead_key, verdict: self._throttled(message, lead_key, render, verdict, notes),
            )

    def open_call(self, call: CallStart, render: Render) -> Reply:
        """Greet a caller (or welcome them back) once per CallSid."""
        inbound = InboundMessage(sid=call.sid, phone=call.phone, channel=VOICE, text="", call_sid=call.call_sid)
        with self._trace(VOICE) as notes:
            notes.never_send(call.phone)
            return self._exactly_once(
                call.sid,
                call.sid,
                call.phone,
                notes,
                lambda session, lead, now: self._greet_caller(session, lead, inbound, render, now, notes),
                lambda lead_key, error: self._recover(inbound, lead_key, render, error, notes),
            )

    @contextmanager
    def _trace(self, channel: str) -> Iterator[TurnNotes]:
        """One telemetry transaction for the turn (a no-op without Sentry)."""
        with message_trace(
            channel,
            TRANSACTION_NAMES.get(channel, f"{channel}.inbound"),
            budget_ms=self.settings.processing_budget_ms,
            flow_version=self.flow_version,
        ) as trace:
            yield TurnNotes(trace)

    def finish_call(self, call_sid: str, status: str, duration_seconds: int | None) -> bool:
        """Record a call status; a final one ends the call and its thread. False for an unknown call."""
        now = self.clock()
        with self.session_factory() as session, session.begin():
            lead_id = session.scalar(select(Call.lead_id).where(Call.call_sid == call_sid))
            if lead_id is None:
                return False
            # Lead first, then call: the same lock order as a voice turn, so the two never deadlock.
            lead = session.scalars(select(Lead).where(Lead.id == lead_id).with_for_update()).one()
            call = session.scalars(select(Call).where(Call.call_sid == call_sid).with_for_update()).one()
            if call.ended_at is not None:
                return True  # already final: late or repeated callbacks change nothing
            call.status = status
            if status in FINAL_CALL_STATUSES:
                call.ended_at = now
                call.end_reason = status
                call.duration_seconds = duration_seconds
                self._end_thread(session, call.thread_id, "call_" + status.replace("-", "_"), now)
                if lead.current_thread_id == call.thread_id:
                    lead.current_thread_id = None  # the next message, on any channel, opens a new thread
        return True

    def _exactly_once(
        self,
        sid: str,
        cache_key: str,
        phone: str,
        notes: TurnNotes,
        work: Callable[[Session, Lead, datetime], Reply],
        recover: Callable[[str, Exception], Reply],
        throttle: Callable[[str, Verdict], Reply] | None = None,
    ) -> Reply:
        """Run `work` under the lead's lock, in one transaction, unless `sid` was already answered
        (or, with `throttle`, is over the lead's rate limit: then `throttle` stores it unprocessed)."""
        trace = notes.trace
        lead_key = phone_hash(self.settings.phone_hash_secret, phone)
        trace.set_lead(lead_key)
        with trace.span("sdr.dedupe", "reply cache"):
            if throttle is None:
                admission = Admission(self.gate.cached_reply(cache_key))
            else:
                admission = self.gate.admit(cache_key, lead_key, sid)
        if admission.cached is not None:
            return Reply(body=admission.cached, duplicate=True)
        verdict = self.gate.rate_limit.verdict(admission.place)
        if throttle is not None and verdict is not Verdict.PROCESS:
            # No lead lock: a flood must not hold the lead's lock, nor queue threads behind it.
            reply = throttle(lead_key, verdict)
            if not reply.duplicate:
                self.gate.remember_reply(cache_key, reply.body)
            return reply
        with ExitStack() as held:
            with trace.span("sdr.lock", "lead lock") as span:
                lock = held.enter_context(self.gate.lead_lock(lead_key))
                span.set_data("lock.acquired", lock.acquired)
            if lock.timed_out:
                notes.lock_timed_out(lock.waited_ms, self.settings.lock_timeout_seconds * 1000)
            try:
                reply = self._in_transaction(sid, phone, lead_key, notes, work, serialized=lock.acquired)
            except DATABASE_DOWN_ERRORS as exc:
                raise StorageUnavailable(type(exc).__name__) from exc
            except Exception as exc:  # the lead must still get an answer; the error is reported
                notes.failed(exc)
                log.exception("processing failed; resetting the thread", extra={"channel": trace.channel})
                reply = recover(lead_key, exc)
            if not reply.duplicate:
                lock.remember(cache_key, reply.body)  # cached as the lock is released, in the same round trip
        if notes.outbox_ids and self.dispatcher is not None:
            self.dispatcher.submit(notes.outbox_ids)
        notes.report(reply)
        return reply

    def _in_transaction(
        self, sid: str, phone: str, lead_key: str, notes: TurnNotes, work: Callable[[Session, Lead, datetime], Reply],
        serialized: bool = False,
    ) -> Reply:
        """`work` in one transaction under the lead's row lock, unless `sid` already has a stored reply.

        Under the lead's Redis lock (`serialized`), a slow call `work` needs is made between two runs of the
        transaction, with no connection held (see SlowCalls).
        """
        notes.slow_calls.may_defer = serialized
        while True:
            try:
                return self._transaction(sid, phone, lead_key, notes, work, serialized)
            except CallOutside as deferred:
                notes.rolled_back()
                with notes.trace.span("sdr.outside", "slow call, no transaction"):
                    notes.slow_calls.make(deferred)

    def _transaction(
        self, sid: str, phone: str, lead_key: str, notes: TurnNotes, work: Callable[[Session, Lead, datetime], Reply],
        serialized: bool,
    ) -> Reply:
        """One run of `work` in a transaction (see _in_transaction)."""
        now = self.clock()
        with self.session_factory() as session, session.begin():
            with notes.trace.span("sdr.load", "lead and retry check"):
                if serialized:
                    # Under the Redis lock, whoever handled this SID before has committed: one statement
                    # locks the lead and reads the stored reply.
                    lead, stored = self._lock_lead(session, phone, lead_key, now, sid)
                else:
                    # Only the row lock orders us: the retry check must be a statement of its own, after
                    # the lock, so its snapshot sees what the previous holder committed.
                    lead = self._lock_lead(session, phone, lead_key, now)[0]
                    stored = _stored_reply(session, sid)
            if stored is not None:
                return Reply(body=stored, duplicate=True)
            reply = work(session, lead, now)
            with notes.trace.span("sdr.persist", "write turn"):
                session.flush()  # the INSERTs and the lead UPDATE; the commit that follows is one round trip
            return reply

    def _answer(self, session: Session, lead: Lead, message: InboundMessage, render: Render, now: datetime,
                notes: TurnNotes) -> Reply:
        """One engine step for a WhatsApp message or a voice turn, stored with its reply."""
        state = self._country_language(self._state_of(lead, now, notes), message.phone)
        heard = None
        if self.voice_notes is not None and self.voice_notes.carries_voice_note(message):
            heard = notes.slow_calls.answer(("transcribe", message.sid), lambda: self.voice_notes.transcribed(
                message, state.language, state.stage))
        if heard is not None:
            notes.never_send(heard.text)
            message = heard  # the transcript is the lead's text: stored, read by the rules, replayed on retries
        call = self._call_of(session, lead, message, now) if message.channel == VOICE else None
        if call is None:
            thread_id, resumed = self._current_thread(session, lead, message.channel, now, notes)
        else:
            thread_id, resumed = call.thread_id, False
        if call is not None and not message.text:
            notes.silent = True
            with notes.trace.span("sdr.engine", "silent turn"):
                result = self._silence(call, state, now)
        else:
            if call is not None:
                call.silent_turns = 0
            turn = Turn(
                text=message.text,
                now=now,
                channel=message.channel,
                has_media=bool(message.media or message.location),
                profile_name=message.profile_name,
                button_payload=message.button_payload,
                resumed=resumed,
                confirm=self._heard_unsure(message),
                whatsapp_reachable=call is None or self._whatsapp_reachable(session, lead, state, now),
            )
            with notes.trace.span("sdr.engine", "qualification step"):
                result = self._step(session, lead, state, turn, notes)
        notes.never_send_answers(result.state.slots)
        end_call = call is not None and _ends_call(result)
        texts = result.replies
        if call is not None and not texts:
            texts = (self._text("call_goodbye", result.state.language, voice=True),)  # a call never ends in silence
        with notes.trace.span("sdr.render", "reply"):
            body = render(Outcome(texts=texts, state=result.state, end_call=end_call))

        reply_thread_id = thread_id
        if any(event.kind is EventKind.RESET_REQUESTED for event in result.events):
            reply_thread_id = self._reset_thread(session, lead, thread_id, RESET_USER, message.channel, now, notes)
            if call is not None:
                call.thread_id = reply_thread_id
        _store_turn(session, lead, message, body, thread_id, reply_thread_id, texts, result, now, notes.seconds_in_stage)
        _store_questions(session, lead.id, message.channel, result, now)
        store_model_turns(session, lead.id, message.channel, state.stage, notes.model_turns, now)
        notes.never_send(*(question.text for question in result.questions))
        notes.outbox_ids.extend(queue_for_events(session, lead.id, result.events, message.sid, now))
        return Reply(
            body=body,
            texts=texts,
            events=result.events,
            stage_before=state.stage,
            stage_after=result.state.stage,
            language=result.state.language,
            end_call=end_call,
        )

    def _greet_caller(self, session: Session, lead: Lead, opening: InboundMessage, render: Render, now: datetime,
                      notes: TurnNotes) -> Reply:
        """Open the call's thread and say the opening: a greeting, a welcome back, or where things stand."""
        state = self._country_language(self._state_of(lead, now, notes), opening.phone)
        thread_id = self._start_call(session, lead, opening.call_sid or opening.sid, now).thread_id
        with notes.trace.span("sdr.engine", "call opening"):
            result = call_opening(self.flow, state, now, self._whatsapp_reachable(session, lead, state, now))
        notes.never_send_answers(result.state.slots)
        end_call = result.state.stage in TERMINAL_STAGES and not result.state.opted_out
        with notes.trace.span("sdr.render", "reply"):
            body = render(Outcome(texts=result.replies, state=result.state, end_call=end_call))
        _store_turn(session, lead, opening, body, thread_id, thread_id, result.replies, result, now, notes.seconds_in_stage)
        return Reply(
            body=body,
            texts=result.replies,
            events=result.events,
            stage_before=state.stage,
            stage_after=result.state.stage,
            language=result.state.language,
            end_call=end_call,
        )

    def _step(self, session: Session, lead: Lead, state: LeadState, turn: Turn, notes: TurnNotes) -> StepResult:
        """The engine's step, or the booking conversation for a qualified lead writing on WhatsApp."""
        desk = self.booking if turn.channel != VOICE else None
        choosing = desk is not None and state.stage in BOOKING_STAGES and not state.opted_out
        # Questions the knowledge answers and corrections of earlier answers are the engine's, even now.
        question = choosing and answerable_question(self.flow.knowledge, turn.text)
        correction = choosing and corrects_an_answer(self.flow, state.slots, turn.text, state.language, turn.now)
        # A booked lead's bare "cancelar" is about the meeting, not every message (booking intents).
        meeting = choosing and state.stage == BOOKED and detect_booking_intent(turn.text, booked=True) is not None
        if choosing and (meeting or detect_intent(turn.text) is None) and not question and not correction:
            result, outbox_ids = desk.reply(session, lead.id, state, turn.text, turn.now)
            notes.outbox_ids.extend(outbox_ids)
            return result

        def booking_follow_up(result: StepResult) -> tuple[StepResult, list[str]]:
            """The meeting offer after qualifying, or the booking released; with the tool names of what was done."""
            tools: list[str] = []
            if (question or correction) and desk is not None:
                result = desk.offer_again(result)  # the engine answered; the slots are still open
            kinds = {event.kind for event in result.events}
            if desk is not None and EventKind.QUALIFIED in kinds:
                result = desk.offer_after_qualifying(session, result, turn.now)
                tools.append("offer_meeting")
            if self.booking is not None and state.stage == BOOKED and kinds & {
                    EventKind.OPTED_OUT, EventKind.RESET_REQUESTED, EventKind.HANDOFF_REQUESTED}:
                # Whoever stops, starts over or asks for a person no longer holds the slot.
                result, outbox_ids = self.booking.release(session, lead.id, result, turn.now)
                notes.outbox_ids.extend(outbox_ids)
                tools.append("cancel_meeting")
            return result, tools

        if self.understanding is None:
            return booking_follow_up(step(self.flow, state, turn))[0]
        return self.understanding.step(self.flow, state, turn, lambda: recent_turns(session, lead.id), lead.phone,
                                       notes.model_turns.append, notes.slow_calls, booking_follow_up)

    def _state_of(self, lead: Lead, now: datetime, notes: TurnNotes) -> LeadState:
        """The lead's engine state, noting how long they have been at its stage."""
        state = LeadState.from_dict(lead.state, self.settings.default_language)
        notes.stage = state.stage
        notes.seconds_in_stage = seconds_in_stage(state, now)
        return state

    def _whatsapp_reachable(self, session: Session, lead: Lead, state: LeadState, now: datetime) -> bool:
        """Whether the e-mail request a call promises can go out on WhatsApp: a template, or an open window."""
        if ("email_request", state.language) in self.settings.whatsapp_templates:
            return True
        if all(not stage.defer_to_whatsapp or stage.slot in state.slots for stage in self.flow.stages):
            return True  # nothing left to defer: no need to look
        return in_window(last_whatsapp_inbound(session, lead.id), now)

    def _country_language(self, state: LeadState, phone: str) -> LeadState:
        """A new lead starts in their number's language; what they write first may still change it."""
        if state.stage != STAGE_NEW:
            return state
        guessed = language_for_number(phone)
        return state.evolve(language=guessed) if guessed in self.flow.languages else state

    def _silence(self, call: Call, state: LeadState, now: datetime) -> StepResult:
        """A turn where the caller said nothing: ask again, or say goodbye after too many in a row."""
        call.silent_turns += 1
        log.info("no speech on a call", extra={"silent_turns": call.silent_turns})
        if call.silent_turns > self.settings.voice_max_silent_turns:
            return StepResult(state=state, replies=(self._text("call_goodbye", state.language, voice=True),),
                              events=(Event(EventKind.SILENCE_LIMIT, {"silent_turns": call.silent_turns}),))
        repeat = step(self.flow, state, Turn(text="", now=now, channel=VOICE))
        return StepResult(
            state=repeat.state,
            replies=(self._text("no_input", repeat.state.language, voice=True), *repeat.replies),
            events=repeat.events,
        )

    def _heard_unsure(self, message: InboundMessage) -> bool:
        """Speech recognised with less confidence than the configured minimum is confirmed first."""
        return message.confidence is not None and message.confidence < self.settings.voice_min_confidence

    def _text(self, key: str, language: str, voice: bool = False) -> str:
        if language not in self.flow.languages:
            language = self.settings.default_language
        return self.flow.text(key, language, voice=voice)

    def _recover(self, message: InboundMessage, lead_key: str, render: Render, error: Exception,
                 notes: TurnNotes) -> Reply:
        """Store the inbound message, reset the thread with reason `error`, apologise."""
        voice = message.channel == VOICE

        def apologise(session: Session, lead: Lead, now: datetime) -> Reply:
            state = LeadState.from_dict(lead.state, self.settings.default_language)
            texts = (self._text("error", state.language, voice=voice),)
            body = render(Outcome(texts=texts, state=state))
            call = session.scalars(select(Call).where(Call.call_sid == message.call_sid)).first() if voice else None
            thread_id = call.thread_id if call is not None else self._current_thread(session, lead, message.channel, now, notes)[0]
            new_thread_id = self._reset_thread(session, lead, thread_id, RESET_ERROR, message.channel, now, notes)
            if call is not None:
                call.thread_id = new_thread_id
            _store_messages(session, lead.id, message, body, thread_id, new_thread_id, texts, now)
            lead.last_inbound_at = now
            return Reply(body=body, texts=texts, language=state.language, stage_before=state.stage,
                         stage_after=state.stage)

        try:
            return self._in_transaction(message.sid, message.phone, lead_key, notes, apologise)
        except IntegrityError:
            # Same key raced in under another lead: answer what was stored for it.
            with self.session_factory() as session:
                stored = _stored_reply(session, message.sid)
            if stored is None:
                raise StorageUnavailable("recovery could not store the message") from error
            return Reply(body=stored, duplicate=True)
        except Exception as exc:
            # Nothing is stored: a 503 makes Twilio retry (or use the fallback URL).
            log.exception("recovery failed")
            raise StorageUnavailable(type(exc).__name__) from exc

    def _throttled(self, message: InboundMessage, lead_key: str, render: Render, verdict: Verdict,
                   notes: TurnNotes) -> Reply:
        """Store a message over the rate limit without running the engine; answer the window's notice, or nothing."""
        try:
            reply = self._store_throttled(message, lead_key, render, verdict is Verdict.NOTICE, notes)
        except IntegrityError:
            # A copy of this message was stored concurrently: answer what it got.
            with self.session_factory() as session:
                stored = _stored_reply(session, message.sid)
            if stored is None:
                raise
            return Reply(body=stored, duplicate=True)
        except DATABASE_DOWN_ERRORS as exc:
            raise StorageUnavailable(type(exc).__name__) from exc
        if not reply.duplicate:
            notes.trace.annotate(stage=reply.stage_after, language=reply.language)
            message_throttled(bool(reply.texts), reply.stage_after)
            log.info("message over the rate limit stored unprocessed (lead %s, notice %s)", lead_key,
                     "sent" if reply.texts else "not sent")
        return reply

    def _store_throttled(self, message: InboundMessage, lead_key: str, render: Render, notice: bool,
                         notes: TurnNotes) -> Reply:
        """One transaction: the inbound message (status `throttled`) and the notice, if any; no engine step."""
        now = self.clock()
        with self.session_factory() as session, session.begin():
            with notes.trace.span("sdr.load", "lead and retry check"):
                # A plain read, no row lock: that lock may be held by the lead's messages being processed.
                row = session.execute(select(Lead.id, Lead.state, Lead.current_thread_id)
                                      .where(Lead.phone_hash == lead_key)).first()
                stored = _stored_reply(session, message.sid)
            if stored is not None:
                return Reply(body=stored, duplicate=True)
            if row is not None and row.current_thread_id is not None:
                lead_id, lead_state, thread_id = row.id, row.state, row.current_thread_id
            else:
                # Rare: the flood overtook the lead's first message, or follows an ended call. Opening a
                # thread changes the lead, so only here is its row lock taken.
                lead = self._lock_lead(session, message.phone, lead_key, now)[0]
                lead_id, lead_state = lead.id, lead.state
                thread_id = lead.current_thread_id or self._open_thread(session, lead, message.channel, now)
            state = LeadState.from_dict(lead_state, self.settings.default_language)
            # The notice is optional in a flow file: without it, every throttled message gets an empty answer.
            texts: tuple[str, ...] = ()
            if notice and RATE_LIMITED_TEXT in self.flow.texts:
                texts = (self._text(RATE_LIMITED_TEXT, state.language),)
            with notes.trace.span("sdr.persist", "throttled message"):
                body = render(Outcome(texts=texts, state=state))
                _store_messages(session, lead_id, message, body, thread_id, thread_id, texts, now, status=THROTTLED)
        return Reply(body=body, texts=texts, language=state.language, stage_before=state.stage,
                     stage_after=state.stage)

    def _lock_lead(self, session: Session, phone: str, lead_key: str, now: datetime,
                   sid: str | None = None) -> tuple[Lead, str | None]:
        """Load the lead with a row lock, creating it first if this number is new; with `sid`, also the
        reply already stored for that provider SID, in the same statement."""
        query = _LOCK_LEAD_WITH_REPLY if sid is not None else _LOCK_LEAD
        params = {"lead_key": lead_key, "sid": sid} if sid is not None else {"lead_key": lead_key}
        row = session.execute(query, params).first()
        if row is not None:
            return row[0], row[1]
        session.connection().execute(_INSERT_LEAD[session.get_bind().dialect.name], {
            "phone": phone,
            "phone_hash": lead_key,
            "language": self.settings.default_language,
            "stage": LeadState().stage,
            "score": 0,
            "opted_out": False,
            "handed_off": False,
            "state": {},
            "created_at": now,
            "updated_at": now,
        })
        lead, stored = session.execute(query, params).one()
        return lead, stored

    def _call_of(self, session: Session, lead: Lead, message: InboundMessage, now: datetime) -> Call:
        """The call a voice turn belongs to; started here if its opening never reached us."""
        call_sid = message.call_sid or message.sid
        call = session.scalars(select(Call).where(Call.call_sid == call_sid)).first()
        return call if call is not None else self._start_call(session, lead, call_sid, now)

    def _start_call(self, session: Session, lead: Lead, call_sid: str, now: datetime) -> Call:
        """A call is its own thread: end the open one and start the call's."""
        if lead.current_thread_id is not None:
            self._end_thread(session, lead.current_thread_id, RESET_CALL, now)
        call = Call(call_sid=call_sid, lead_id=lead.id, thread_id=self._open_thread(session, lead, VOICE, now),
                    status="in-progress", silent_turns=0, started_at=now)
        session.add(call)
        return call

    def _current_thread(self, session: Session, lead: Lead, channel: str, now: datetime,
                        notes: TurnNotes) -> tuple[int, bool]:
        """The lead's open thread id, and whether the lead is coming back to an earlier conversation."""
        if lead.current_thread_id is None:
            # A known lead without an open thread: the last one was a call that has ended.
            return self._open_thread(session, lead, channel, now), lead.stage != STAGE_NEW
        idle_limit = timedelta(hours=self.settings.idle_reset_hours)
        if lead.last_inbound_at is not None and now - lead.last_inbound_at > idle_limit:
            return self._reset_thread(session, lead, lead.current_thread_id, RESET_IDLE, channel, now, notes), True
        return lead.current_thread_id, False

    def _reset_thread(self, session: Session, lead: Lead, thread_id: int, reason: str, channel: str, now: datetime,
                      notes: TurnNotes) -> int:
        """End a thread with its reason and open the next one."""
        thread = self._end_thread(session, thread_id, reason, now)
        notes.thread_reset(reason, thread.started_at if thread is not None else None, now, lead.stage)
        log.info("thread reset", extra={"reason": reason})
        return self._open_thread(session, lead, channel, now)

    @staticmethod
    def _end_thread(session: Session, thread_id: int, reason: str, now: datetime) -> ConversationThread | None:
        thread = session.get(ConversationThread, thread_id)
        if thread is not None and thread.ended_at is None:
            thread.ended_at = now
            thread.end_reason = reason
        return thread

    @staticmethod
    def _open_thread(session: Session, lead: Lead, channel: str, now: datetime) -> int:
        thread = ConversationThread(lead_id=lead.id, channel=channel, started_at=now)
        session.add(thread)
        session.flush()
        lead.current_thread_id = thread.id
        return thread.id


def _ends_call(result: StepResult) -> bool:
    """Whether a call should hang up after these replies."""
    if not result.replies or result.state.stage in TERMINAL_STAGES:
        return True  # the end of the flow, or a lead the bot no longer talks to
    ends = (EventKind.OPTED_OUT, EventKind.DEFERRED_TO_WHATSAPP, EventKind.SILENCE_LIMIT)
    return any(event.kind in ends for event in result.events)


def _stored_reply(session: Session, sid: str) -> str | None:
    """The reply body stored for an already-handled provider SID."""
    return session.connection().execute(_SELECT_STORED_REPLY, {"sid": sid}).scalar()


def _store_messages(session: Session, lead_id: int, message: InboundMessage, body: str, thread_id: int,
                    reply_thread_id: int, texts: Sequence[str], now: datetime, status: str = RECEIVED) -> None:
    """Insert the inbound message and its replies in one statement (no ids needed back)."""
    # A Core INSERT on the table, not the ORM's bulk path: the same single statement, far less Python.
    session.connection().execute(INSERT_MESSAGES, message_rows(lead_id, message, body, thread_id, reply_thread_id,
                                                                texts, now, status))


def _store_questions(session: Session, lead_id: int, channel: str, result: StepResult, now: datetime) -> None:
    """The questions the lead asked this turn; no statement at all for the usual turn without one."""
    if not result.questions:
        return
    session.execute(_INSERT_QUESTIONS, [
        {"lead_id": lead_id, "stage": question.stage, "channel": channel, "text": question.text[:200],
         "folded": normalised(question.text)[:200] or "?", "answered": question.topic is not None,
         "topic": question.topic, "created_at": now}
        for question in result.questions
    ])
