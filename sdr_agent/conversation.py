"""The conversation service: the one place that locks, transacts and decides what is stored."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable, Sequence

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .leadgate import LeadGate
from .messages import InboundMessage, Reply
from .models import ConversationThread, Lead, Message, StageEvent, utcnow
from .phone import phone_hash
from .qualification import EventKind, Flow, LeadState, StepResult, Turn, step
from .slots import project_slots

log = logging.getLogger(__name__)

Render = Callable[[Sequence[str]], str]

RESET_IDLE = "idle_timeout"
RESET_USER = "user_requested"
RESET_ERROR = "error"

# Errors that mean "the database is unreachable", answered 503 so Twilio retries later.
DATABASE_DOWN_ERRORS = (OperationalError, InterfaceError, PoolTimeoutError)


class StorageUnavailable(RuntimeError):
    """Nothing could be stored (database unreachable, or even the recovery failed)."""


class ConversationService:
    """Turns one inbound message into one stored, exactly-once reply."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        gate: LeadGate,
        flow: Flow,
        settings: Settings,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.gate = gate
        self.flow = flow
        self.settings = settings
        self.clock = clock
        self.apologies = {language: flow.text("error", language) for language in flow.languages}

    def handle(self, message: InboundMessage, render: Render) -> Reply:
        """Process a message once; a repeated provider SID gets the stored reply."""
        cached = self.gate.cached_reply(message.sid)
        if cached is not None:
            return Reply(body=cached, duplicate=True)
        lead_key = phone_hash(self.settings.phone_hash_secret, message.phone)
        with self.gate.lead_lock(lead_key):
            try:
                reply = self._process(message, lead_key, render)
            except DATABASE_DOWN_ERRORS as exc:
                raise StorageUnavailable(type(exc).__name__) from exc
            except Exception as exc:  # the lead must still get an answer; the error is reported
                log.exception("processing failed; resetting the thread")
                reply = self._recover(message, lead_key, render, exc)
        if not reply.duplicate:
            self.gate.remember_reply(message.sid, reply.body)
        return reply

    def _process(self, message: InboundMessage, lead_key: str, render: Render) -> Reply:
        now = self.clock()
        with self.session_factory() as session, session.begin():
            lead = self._lock_lead(session, message, lead_key, now)
            stored = _stored_reply(session, message.sid)
            if stored is not None:
                return Reply(body=stored, duplicate=True)

            state = LeadState.from_dict(lead.state, self.settings.default_language)
            thread_id, resumed = self._current_thread(session, lead, message.channel, now)
            turn = Turn(
                text=message.text,
                now=now,
                channel=message.channel,
                has_media=bool(message.media or message.location),
                profile_name=message.profile_name,
                button_payload=message.button_payload,
                resumed=resumed,
            )
            result = step(self.flow, state, turn)
            body = render(result.replies)

            reply_thread_id = thread_id
            if any(event.kind is EventKind.RESET_REQUESTED for event in result.events):
                reply_thread_id = self._reset_thread(session, lead, thread_id, RESET_USER, message.channel, now)

            _store_messages(session, lead.id, message, body, thread_id, reply_thread_id, result.replies, now)
            _store_stage_events(session, lead.id, reply_thread_id, message.channel, result, now)
            _apply_state(lead, result.state, now)
            if message.profile_name and not lead.profile_name:
                lead.profile_name = message.profile_name[:120]
            return Reply(
                body=body,
                texts=result.replies,
                events=result.events,
                stage_before=state.stage,
                stage_after=result.state.stage,
                language=result.state.language,
            )

    def _recover(self, message: InboundMessage, lead_key: str, render: Render, error: Exception) -> Reply:
        """Store the inbound message, reset the thread with reason `error`, apologise."""
        now = self.clock()
        try:
            with self.session_factory() as session, session.begin():
                lead = self._lock_lead(session, message, lead_key, now)
                stored = _stored_reply(session, message.sid)
                if stored is not None:
                    return Reply(body=stored, duplicate=True)
                language = lead.language or self.settings.default_language
                texts = (self.apologies.get(language) or self.apologies[self.settings.default_language],)
                body = render(texts)
                thread_id, _ = self._current_thread(session, lead, message.channel, now)
                new_thread_id = self._reset_thread(session, lead, thread_id, RESET_ERROR, message.channel, now)
                _store_messages(session, lead.id, message, body, thread_id, new_thread_id, texts, now)
                lead.last_inbound_at = now
                return Reply(body=body, texts=texts, language=language)
        except IntegrityError:
            # Same SID raced in under another lead: answer what was stored for it.
            with self.session_factory() as session:
                stored = _stored_reply(session, message.sid)
            if stored is None:
                raise StorageUnavailable("recovery could not store the message") from error
            return Reply(body=stored, duplicate=True)
        except Exception as exc:
            # Nothing is stored: a 503 makes Twilio retry (or use the fallback URL).
            log.exception("recovery failed")
            raise StorageUnavailable(type(exc).__name__) from exc

    def _lock_lead(self, session: Session, message: InboundMessage, lead_key: str, now: datetime) -> Lead:
        """Load the lead with a row lock, creating it first if this number is new."""
        query = select(Lead).where(Lead.phone_hash == lead_key).with_for_update()
        lead = session.scalars(query).first()
        if lead is not None:
            return lead
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        session.execute(
            insert(Lead)
            .values(
                phone=message.phone,
                phone_hash=lead_key,
                language=self.settings.default_language,
                stage=LeadState().stage,
                score=0,
                opted_out=False,
                handed_off=False,
                state={},
                created_at=now,
                updated_at=now,
            )
            # A concurrent first message may have created it: then we wait on its lock.
            .on_conflict_do_nothing(index_elements=["phone_hash"])
        )
        return session.scalars(query).one()

    def _current_thread(self, session: Session, lead: Lead, channel: str, now: datetime) -> tuple[int, bool]:
        """The lead's open thread id, and whether it was just restarted after an idle gap."""
        if lead.current_thread_id is None:
            return self._open_thread(session, lead, channel, now), False
        idle_limit = timedelta(hours=self.settings.idle_reset_hours)
        if lead.last_inbound_at is not None and now - lead.last_inbound_at > idle_limit:
            return self._reset_thread(session, lead, lead.current_thread_id, RESET_IDLE, channel, now), True
        return lead.current_thread_id, False

    def _reset_thread(self, session: Session, lead: Lead, thread_id: int, reason: str, channel: str, now: datetime) -> int:
        """End a thread with its reason and open the next one."""
        thread = session.get(ConversationThread, thread_id)
        if thread is not None and thread.ended_at is None:
            thread.ended_at = now
            thread.end_reason = reason
        log.info("thread reset", extra={"reason": reason})
        return self._open_thread(session, lead, channel, now)

    @staticmethod
    def _open_thread(session: Session, lead: Lead, channel: str, now: datetime) -> int:
        thread = ConversationThread(lead_id=lead.id, channel=channel, started_at=now)
        session.add(thread)
        session.flush()
        lead.current_thread_id = thread.id
        return thread.id


def _stored_reply(session: Session, sid: str) -> str | None:
    """The reply body stored for an already-handled provider SID."""
    row = session.execute(select(Message.reply_body).where(Message.provider_sid == sid)).first()
    return None if row is None else (row[0] or "")


def _store_messages(session: Session, lead_id: int, message: InboundMessage, body: str, thread_id: int,
                    reply_thread_id: int, texts: Sequence[str], now: datetime) -> None:
    """Insert the inbound message and its replies in one statement (no ids needed back)."""
    inbound = {
        "lead_id": lead_id,
        "thread_id": thread_id,
        "direction": "inbound",
        "channel": message.channel,
        "text": message.text,
        "provider_sid": message.sid,
        "status": "received",
        "media": list(message.media) or None,
        "location": message.location,
        "reply_body": body,
        "created_at": now,
    }
    # Replies go out inside the webhook response: Twilio sends them, so there is no SID yet.
    outbound = [
        inbound | {"thread_id": reply_thread_id, "direction": "outbound", "text": text, "provider_sid": None,
                   "status": "replied", "media": None, "location": None, "reply_body": None}
        for text in texts
    ]
    # render_nulls keeps NULL columns in the statement, so both kinds of row share one INSERT.
    session.execute(insert(Message).execution_options(render_nulls=True), [inbound, *outbound])


def _store_stage_events(session: Session, lead_id: int, thread_id: int, channel: str, result: StepResult, now: datetime) -> None:
    rows = [
        {"lead_id": lead_id, "thread_id": thread_id, "from_stage": event.data["from"], "to_stage": event.data["to"],
         "channel": channel, "at": now}
        for event in result.events
        if event.kind is EventKind.STAGE_CHANGED
    ]
    if rows:
        session.execute(insert(StageEvent), rows)


def _apply_state(lead: Lead, state: LeadState, now: datetime) -> None:
    """Copy the engine's state onto the lead row and its searchable columns."""
    lead.state = state.to_dict()
    lead.stage = state.stage
    lead.language = state.language
    lead.score = state.score
    lead.opted_out = state.opted_out
    lead.handed_off = state.handed_off
    lead.last_inbound_at = now
    for column, value in project_slots(state.slots).items():
        setattr(lead, column, value)
