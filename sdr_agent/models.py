"""Database models. Models never commit: the conversation service owns transactions."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .extensions import db

OPEN_THREAD_SQL = text("current_thread_id IS NOT NULL")


def utcnow() -> datetime:
    """Timezone-aware now in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC that always comes back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value


class Lead(db.Model):  # type: ignore[name-defined]
    """One person, identified by phone number, whatever the channel."""

    __tablename__ = "leads"
    # The sweep's two passes read leads by silence: follow-ups a bounded range of `last_inbound_at`,
    # idle resets only leads with an open thread (a partial index, so closed threads cost nothing).
    __table_args__ = (
        Index("ix_leads_last_inbound_at", "last_inbound_at"),
        Index("ix_leads_open_thread_inbound", "last_inbound_at", postgresql_where=OPEN_THREAD_SQL,
              sqlite_where=OPEN_THREAD_SQL),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    phone_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    company: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str | None] = mapped_column(String(60))
    need: Mapped[str | None] = mapped_column(Text)
    budget: Mapped[str | None] = mapped_column(String(120))
    budget_amount: Mapped[float | None] = mapped_column(Float)
    timeline: Mapped[str | None] = mapped_column(String(120))
    timeline_months: Mapped[float | None] = mapped_column(Float)
    email: Mapped[str | None] = mapped_column(String(254))
    profile_name: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str] = mapped_column(String(40), index=True)
    score: Mapped[int] = mapped_column(Integer, default=0)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    handed_off: Mapped[bool] = mapped_column(Boolean, default=False)
    # The engine's whole state (slots, retries, score reasons) as JSON; the columns above
    # are its searchable projection for the dashboard and exports.
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Plain pointer, not a foreign key: threads already point at their lead, and a cycle
    # of constraints would complicate inserts and migrations for no gain.
    current_thread_id: Mapped[int | None] = mapped_column(Integer)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set by an erasure request: the row stays, without personal data, so funnel counts stay true.
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConversationThread(db.Model):  # type: ignore[name-defined]
    """One stretch of conversation; a reset ends it and starts the next."""

    __tablename__ = "conversation_threads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))


class Message(db.Model):  # type: ignore[name-defined]
    """One inbound or outbound message on any channel."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_lead_created", "lead_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("conversation_threads.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(8))  # inbound | outbound
    channel: Mapped[str] = mapped_column(String(16))  # whatsapp | voice
    text: Mapped[str | None] = mapped_column(Text)
    # Unique: the database is the guarantee that a retried webhook is handled once.
    provider_sid: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    media: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    location: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # For inbound messages: the exact response body we answered, replayed on retries.
    reply_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StageEvent(db.Model):  # type: ignore[name-defined]
    """One qualification stage transition: the funnel's raw data."""

    __tablename__ = "stage_events"
    __table_args__ = (
        Index("ix_stage_events_to_at", "to_stage", "at"),
        # The dashboard's median time per step reads only these three columns of a period's events.
        Index("ix_stage_events_at_from_stay", "at", "from_stage", "stay_seconds"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("conversation_threads.id", ondelete="CASCADE"), index=True)
    from_stage: Mapped[str] = mapped_column(String(40))
    to_stage: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # How long the lead had been at `from_stage` when it left it, written with the event: the
    # dashboard's medians then need no window over every event of the period. None = unknown.
    stay_seconds: Mapped[float | None] = mapped_column(Float)


class Call(db.Model):  # type: ignore[name-defined]
    """One phone call: its thread, how it ended and how long it took."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Unique: a retried incoming-call webhook opens the call once.
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("conversation_threads.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(20))  # Twilio's CallStatus
    silent_turns: Mapped[int] = mapped_column(Integer, default=0)  # in a row; reset by speech
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))
    duration_seconds: Mapped[int | None] = mapped_column(Integer)


class OutboxItem(db.Model):  # type: ignore[name-defined]
    """One thing to send outside a webhook response: a WhatsApp message or a webhook notification.

    Written in the same transaction as the turn that caused it, delivered by the worker, so a
    send is never lost with a crash and never doubled by a retry (unique idempotency key).
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # whatsapp | handoff | crm
    purpose: Mapped[str] = mapped_column(String(32))  # e.g. email_request, follow_up, reminder, qualified
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))  # pending | sending | sent | skipped | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    provider_sids: Mapped[list[str] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Booking(db.Model):  # type: ignore[name-defined]
    """A meeting a qualified lead booked; cancelled bookings stay for the record."""

    __tablename__ = "bookings"
    __table_args__ = (
        # One active booking per slot, whoever books it: the database settles races between leads.
        Index("uq_bookings_active_start", "start_at", unique=True,
              postgresql_where=text("status = 'booked'"), sqlite_where=text("status = 'booked'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # booked | cancelled
    token: Mapped[str] = mapped_column(String(43), unique=True)  # unguessable: the lead's .ics link
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OperatorSession(db.Model):  # type: ignore[name-defined]
    """A dashboard login, kept server-side so that logging out (or a new password) ends it for real."""

    __tablename__ = "operator_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie's random token
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ModelTurn(db.Model):  # type: ignore[name-defined]
    """A turn the language model was asked about: what it proposed (no values), what it cost, how it ended.

    Nothing in it identifies the lead beyond `lead_id`, so erasure keeps it for the counts, like stage events.
    """

    __tablename__ = "model_turns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(40))  # where the lead was when the turn began
    # "applied" (its commands made the step), "rules" (nothing usable) or the fallback reason (timeout…).
    outcome: Mapped[str] = mapped_column(String(40))
    commands: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)  # names, slots and topics; never values
    model: Mapped[str | None] = mapped_column(String(120))
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LeadQuestion(db.Model):  # type: ignore[name-defined]
    """A question a lead asked during qualification, answered from the knowledge or noted for the specialist."""

    __tablename__ = "lead_questions"
    # The dashboard counts the unanswered ones by their folded text.
    __table_args__ = (Index("ix_lead_questions_answered_folded", "answered", "folded"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(200))  # as the lead wrote it
    folded: Mapped[str] = mapped_column(String(200))  # lower case, no accents or punctuation: groups variants
    answered: Mapped[bool] = mapped_column(Boolean)
    topic: Mapped[str | None] = mapped_column(String(60))  # the knowledge entry that answered it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
