"""Writing outbox items: inside the caller's transaction, once per idempotency key."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..models import OutboxItem

WHATSAPP = "whatsapp"
HANDOFF = "handoff"
CRM = "crm"
CALENDAR = "calendar"

PENDING = "pending"
SENDING = "sending"
SENT = "sent"
SKIPPED = "skipped"  # decided not to send (opted out, no template outside the window, no URL…)
FAILED = "failed"  # gave up: permanent error or too many attempts


def add_outbox_item(
    session: Session,
    *,
    lead_id: int | None,
    kind: str,
    purpose: str,
    key: str,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
    due_at: datetime | None = None,
) -> int | None:
    """Queue one send; returns its id, or None when an item with this key already exists."""
    dialect_insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        # The table, not the entity: ORM bulk-insert machinery costs more than the statement itself.
        dialect_insert(OutboxItem.__table__)
        .values(
            lead_id=lead_id,
            kind=kind,
            purpose=purpose,
            idempotency_key=key[:160],
            payload=dict(payload or {}),
            status=PENDING,
            attempts=0,
            next_attempt_at=due_at or now,
            created_at=now,
            updated_at=now,
        )
        # The same logical send asked for twice (a retried job, a replayed sweep) is one row.
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxItem.__table__.c.id)
    )
    return session.connection().execute(statement).scalar()
