"""The questions leads asked that the knowledge file could not answer, most frequent first."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Lead, LeadQuestion
from .filters import Period

TOP_QUESTIONS = 10


@dataclass(frozen=True)
class UnansweredQuestion:
    """One question (its variants grouped by folded text), how often and by how many leads it was asked."""

    example: str
    asked: int
    leads: int


def unanswered_questions(session: Session, period: Period, channel: str | None,
                         limit: int = TOP_QUESTIONS) -> list[UnansweredQuestion]:
    """The most frequent unanswered questions of the period: what to add to the knowledge file next."""
    asked = func.count(LeadQuestion.id)
    query = (
        select(func.min(LeadQuestion.text), asked, func.count(func.distinct(LeadQuestion.lead_id)))
        .join(Lead, Lead.id == LeadQuestion.lead_id)
        .where(LeadQuestion.answered.is_(False), Lead.erased_at.is_(None),
               LeadQuestion.created_at >= period.start, LeadQuestion.created_at < period.end)
        .group_by(LeadQuestion.folded)
        .order_by(asked.desc(), LeadQuestion.folded)
        .limit(limit)
    )
    if channel is not None:
        query = query.where(LeadQuestion.channel == channel)
    return [UnansweredQuestion(example, count, leads) for example, count, leads in session.execute(query)]
