"""Lead list, lead detail and export queries: one statement per block of the page."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from ..models import ConversationThread, Lead, Message, StageEvent
from .filters import LeadFilters

PAGE_SIZE = 50
EXPORT_BATCH = 1000

LIST_COLUMNS = (
    Lead.id, Lead.name, Lead.company, Lead.phone, Lead.email, Lead.stage, Lead.score,
    Lead.opted_out, Lead.handed_off, Lead.language, Lead.created_at, Lead.last_inbound_at,
)
EXPORT_COLUMNS = (
    Lead.id, Lead.phone, Lead.name, Lead.company, Lead.role, Lead.need, Lead.budget, Lead.budget_amount,
    Lead.timeline, Lead.timeline_months, Lead.email, Lead.language, Lead.stage, Lead.score,
    Lead.opted_out, Lead.handed_off, Lead.created_at, Lead.last_inbound_at,
)


@dataclass(frozen=True)
class LeadPage:
    """One page of the filtered lead list."""

    rows: Sequence[Row[Any]]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class LeadDetail:
    """Everything the lead page shows."""

    lead: Lead
    threads: Sequence[ConversationThread]
    stage_events: Sequence[StageEvent]
    messages: Sequence[Message]


def lead_page(session: Session, filters: LeadFilters, page: int, page_size: int = PAGE_SIZE) -> LeadPage:
    """The leads matching the filters, newest first, one page of them."""
    conditions = filters.conditions()
    total = session.scalar(select(func.count()).select_from(Lead).where(*conditions)) or 0
    page = min(max(page, 1), max(1, -(-total // page_size)))
    query = (
        select(*LIST_COLUMNS)
        .where(*conditions)
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    return LeadPage(session.execute(query).all(), total, page, page_size)


def lead_detail(session: Session, lead_id: int) -> LeadDetail | None:
    """The lead with its threads, stage timeline and transcript (all channels), or None."""
    lead = session.get(Lead, lead_id)
    if lead is None or lead.erased_at is not None:
        return None
    threads = session.scalars(
        select(ConversationThread).where(ConversationThread.lead_id == lead_id).order_by(ConversationThread.id)
    ).all()
    events = session.scalars(
        select(StageEvent).where(StageEvent.lead_id == lead_id).order_by(StageEvent.at, StageEvent.id)
    ).all()
    messages = session.scalars(
        select(Message).where(Message.lead_id == lead_id).order_by(Message.created_at, Message.id)
    ).all()
    return LeadDetail(lead, threads, events, messages)


def export_rows(session: Session, filters: LeadFilters) -> Iterator[tuple[Any, ...]]:
    """Every lead matching the filters, streamed in batches (the export can be large)."""
    query = select(*EXPORT_COLUMNS, Lead.state).where(*filters.conditions()).order_by(Lead.id)
    for *values, state in session.execute(query.execution_options(yield_per=EXPORT_BATCH)):
        yield (*values, " | ".join((state or {}).get("open_questions") or []))


def export_header() -> list[str]:
    """CSV column names, in EXPORT_COLUMNS order, then the questions left for the specialist."""
    return [column.key for column in EXPORT_COLUMNS] + ["open_questions"]

