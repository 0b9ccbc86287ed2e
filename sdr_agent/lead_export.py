"""Everything stored about one lead, as JSON-ready data (a data-access request)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Booking, Call, ConversationThread, Lead, LeadQuestion, Message, StageEvent

LEAD_FIELDS = ("id", "phone", "name", "company", "role", "need", "budget", "budget_amount", "timeline",
               "timeline_months", "email", "profile_name", "language", "stage", "score", "opted_out", "handed_off",
               "created_at", "updated_at", "last_inbound_at")


def export_lead(session: Session, lead: Lead) -> dict[str, Any]:
    """The lead's fields, score reasons, questions, stage history, threads, messages, calls and bookings."""
    state = lead.state or {}
    return {
        "lead": {field: _plain(getattr(lead, field)) for field in LEAD_FIELDS},
        "score_reasons": list(state.get("score_reasons") or []),
        "callback": state.get("callback"),
        "questions": [
            {"at": _plain(question.created_at), "stage": question.stage, "channel": question.channel,
             "text": question.text, "answered": question.answered, "topic": question.topic}
            for question in _rows(session, LeadQuestion, lead.id, LeadQuestion.created_at, LeadQuestion.id)
        ],
        "stage_history": [
            {"at": _plain(event.at), "from": event.from_stage, "to": event.to_stage, "channel": event.channel}
            for event in _rows(session, StageEvent, lead.id, StageEvent.at, StageEvent.id)
        ],
        "threads": [
            {"id": thread.id, "channel": thread.channel, "started_at": _plain(thread.started_at),
             "ended_at": _plain(thread.ended_at), "end_reason": thread.end_reason}
            for thread in _rows(session, ConversationThread, lead.id, ConversationThread.id)
        ],
        "messages": [
            {"at": _plain(message.created_at), "direction": message.direction, "channel": message.channel,
             "text": message.text, "status": message.status, "media": message.media, "location": message.location,
             "thread_id": message.thread_id}
            for message in _rows(session, Message, lead.id, Message.created_at, Message.id)
        ],
        "calls": [
            {"started_at": _plain(call.started_at), "ended_at": _plain(call.ended_at), "status": call.status,
             "end_reason": call.end_reason, "duration_seconds": call.duration_seconds}
            for call in _rows(session, Call, lead.id, Call.started_at, Call.id)
        ],
        "bookings": [
            {"start": _plain(booking.start_at), "end": _plain(booking.end_at), "status": booking.status,
             "created_at": _plain(booking.created_at), "cancelled_at": _plain(booking.cancelled_at)}
            for booking in _rows(session, Booking, lead.id, Booking.start_at, Booking.id)
        ],
    }


def _rows(session: Session, model: Any, lead_id: int, *order: Any) -> list[Any]:
    return list(session.scalars(select(model).where(model.lead_id == lead_id).order_by(*order)))


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value
