"""The hand-off queue: leads with a person, those who wrote since the hand-off first."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Lead, StageEvent

HANDOFF = "handoff"
QUEUE_LIMIT = 50


@dataclass(frozen=True)
class WaitingLead:
    """One handed-off lead: when it was handed off, when it last wrote, and whether it wrote since."""

    lead_id: int
    handed_off_at: datetime | None
    last_inbound_at: datetime | None

    @property
    def waiting(self) -> bool:
        """The lead wrote after the hand-off: a person owes it an answer."""
        if self.last_inbound_at is None:
            return False
        return self.handed_off_at is None or self.last_inbound_at > self.handed_off_at


def handoff_queue(session: Session, limit: int = QUEUE_LIMIT) -> list[WaitingLead]:
    """Handed-off leads still reachable, waiting ones first, most recent message first."""
    handed_off_at = (select(func.max(StageEvent.at)).where(StageEvent.lead_id == Lead.id, StageEvent.to_stage == HANDOFF)
                     .correlate(Lead).scalar_subquery())
    query = (
        select(Lead.id, handed_off_at, Lead.last_inbound_at)
        .where(Lead.handed_off.is_(True), Lead.stage == HANDOFF, Lead.opted_out.is_(False), Lead.erased_at.is_(None))
        .order_by(Lead.last_inbound_at.desc(), Lead.id.desc())
        .limit(limit)
    )
    rows = [WaitingLead(lead_id, at, last) for lead_id, at, last in session.execute(query)]
    # Waiting leads first; the order within each group (newest message first) is kept.
    return sorted(rows, key=lambda row: not row.waiting)
