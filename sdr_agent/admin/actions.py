"""Operator actions on one lead, applied directly to its rows.

Each action takes the same locks as the conversation service (the lead's Redis lock,
then its row lock) so it never interleaves with a message being processed.
"""
from __future__ import annotations

import secrets
from contextlib import contextmanager
from datetime import datetime
from typing import Callable, Iterator

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from ..leadgate import LeadGate
from ..models import Booking, Call, ConversationThread, Lead, LeadQuestion, Message, OutboxItem, StageEvent, utcnow
from ..qualification import STAGE_NEW, LeadState
from ..qualification.waiting import OPERATOR
from ..lead_state import seconds_in_stage, write_state

HANDOFF = "handoff"
RESET_OPERATOR = "operator_reset"
ACTIONS = ("hand_off", "release", "reset_thread", "erase")
# Every lead column that can hold personal data; erase clears them all.
PERSONAL_COLUMNS = ("phone", "name", "company", "role", "need", "budget", "budget_amount", "timeline",
                    "timeline_months", "email", "profile_name")


class LeadNotFound(LookupError):
    """No lead has this id (erased, or never existed)."""


class LeadActions:
    """Hand off, release to the bot, reset the thread, erase."""

    def __init__(self, session_factory: sessionmaker[Session], gate: LeadGate,
                 default_language: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.session_factory = session_factory
        self.gate = gate
        self.default_language = default_language
        self.clock = clock

    def hand_off(self, lead_id: int) -> bool:
        """Take the lead away from the bot; False if it was already with a person."""
        with self._locked(lead_id) as (session, lead):
            if lead.stage == HANDOFF:
                return False
            state = self._state(lead)
            # An operator talking to the lead: the bot does not say "someone will reply" over them.
            self._move(session, lead, state.evolve(handed_off=True, waiting_ack_at=OPERATOR), HANDOFF)
            return True

    def release(self, lead_id: int) -> bool:
        """Give a handed-off lead back to the bot, at the stage it left; False if not handed off."""
        with self._locked(lead_id) as (session, lead):
            if lead.stage != HANDOFF and not lead.handed_off:
                return False
            previous = session.scalar(
                select(StageEvent.from_stage)
                .where(StageEvent.lead_id == lead.id, StageEvent.to_stage == HANDOFF)
                .order_by(StageEvent.at.desc(), StageEvent.id.desc())
                .limit(1)
            )
            # From "new" the bot asks the first open question on the lead's next message.
            target = previous if previous and previous != HANDOFF else STAGE_NEW
            state = self._state(lead).evolve(handed_off=False)
            self._move(session, lead, state, target if lead.stage == HANDOFF else lead.stage)
            return True

    def reset_thread(self, lead_id: int) -> None:
        """End the open thread and forget the answers: the next message starts the flow afresh."""
        with self._locked(lead_id) as (session, lead):
            now = self.clock()
            if lead.current_thread_id is not None:
                thread = session.get(ConversationThread, lead.current_thread_id)
                if thread is not None and thread.ended_at is None:
                    thread.ended_at = now
                    thread.end_reason = RESET_OPERATOR
            # No open thread: the conversation service opens one on the next message.
            lead.current_thread_id = None
            old = self._state(lead)
            # Opt-out survives a reset: only the lead can take it back.
            fresh = LeadState(language=old.language, opted_out=old.opted_out)
            self._apply(lead, fresh, now)

    def erase(self, lead_id: int) -> None:
        """Irreversibly remove the lead's personal data (LGPD/GDPR), keeping what the funnel counts.

        Deleted: messages (texts, media, reply bodies), calls (a CallSid leads back to the number),
        bookings, queued sends, the questions the lead asked, the cached replies of its messages and calls, and its rate-limit window.
        Kept, anonymous: the lead row with its stage, score and flags, its threads and stage events. The
        phone hash is replaced by a random value, since an HMAC of the number would identify the lead again
        to anyone holding the key.
        """
        with self._locked(lead_id) as (session, lead):
            sids = [sid for sid in session.scalars(select(Message.provider_sid).where(
                Message.lead_id == lead.id, Message.provider_sid.is_not(None))) if sid]
            call_sids = list(session.scalars(select(Call.call_sid).where(Call.lead_id == lead.id)))
            for model in (Message, Call, Booking, OutboxItem, LeadQuestion):
                session.execute(delete(model).where(model.lead_id == lead.id))
            for column in PERSONAL_COLUMNS:
                setattr(lead, column, None)
            lead_key = lead.phone_hash
            lead.phone_hash = f"erased-{secrets.token_hex(24)}"
            old = self._state(lead)
            lead.state = LeadState(stage=old.stage, language=old.language, score=old.score,
                                   opted_out=old.opted_out, handed_off=old.handed_off).to_dict()
            lead.current_thread_id = None
            lead.erased_at = self.clock()
        self.gate.forget_replies(sids, call_sids, lead_key)

    @contextmanager
    def _locked(self, lead_id: int) -> Iterator[tuple[Session, Lead]]:
        with self.session_factory() as session:
            lead_key = session.scalar(select(Lead.phone_hash).where(Lead.id == lead_id))
        if lead_key is None:
            raise LeadNotFound(lead_id)
        with self.gate.lead_lock(lead_key), self.session_factory() as session, session.begin():
            lead = session.scalars(select(Lead).where(Lead.id == lead_id).with_for_update()).first()
            if lead is None or lead.erased_at is not None:
                raise LeadNotFound(lead_id)
            yield session, lead

    def _state(self, lead: Lead) -> LeadState:
        return LeadState.from_dict(lead.state, lead.language or self.default_language)

    def _move(self, session: Session, lead: Lead, state: LeadState, stage: str) -> None:
        """Change stage like the engine does, recording the stage event the funnel reads."""
        now = self.clock()
        if stage != lead.stage:
            thread_id, channel = _event_thread(session, lead)
            if thread_id is not None:
                session.add(StageEvent(lead_id=lead.id, thread_id=thread_id, from_stage=lead.stage,
                                       to_stage=stage, channel=channel, at=now,
                                       stay_seconds=seconds_in_stage(state, now)))
            state = state.evolve(stage=stage, retries=0, stage_entered_at=now.isoformat())
        self._apply(lead, state, now)

    @staticmethod
    def _apply(lead: Lead, state: LeadState, now: datetime) -> None:
        """Write the state and its column projection, as the conversation service does."""
        write_state(lead, state)
        lead.updated_at = now

def _event_thread(session: Session, lead: Lead) -> tuple[int | None, str]:
    """The thread (and its channel) a stage event belongs to: the open one, else the latest."""
    query = select(ConversationThread.id, ConversationThread.channel).where(ConversationThread.lead_id == lead.id)
    if lead.current_thread_id is not None:
        query = query.where(ConversationThread.id == lead.current_thread_id)
    row = session.execute(query.order_by(ConversationThread.id.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (None, "whatsapp")
