"""Model turns stored with the turn, and the dashboard's daily counts of calls, fallbacks and tokens."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Sequence

from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from ..models import ModelTurn
from .service import ModelRecord

_INSERT = insert(ModelTurn.__table__)
ANSWERED = ("applied", "rules")  # outcomes where the model answered; anything else is a fallback


def store_model_turns(session: Session, lead_id: int, channel: str, stage: str,
                      records: Sequence[ModelRecord], now: datetime) -> None:
    """Insert the turn's model records (none for the usual turn the rules understood: no statement)."""
    if not records:
        return
    session.execute(_INSERT, [
        {"lead_id": lead_id, "channel": channel, "stage": stage[:40],
         "outcome": record.outcome[:40], "commands": record.commands or None, "model": (record.model or "")[:120],
         "input_tokens": record.input_tokens, "output_tokens": record.output_tokens, "created_at": now}
        for record in records
    ])


@dataclass(frozen=True)
class ModelDay:
    """One day of model use: turns asked, fallbacks to the rules, tokens in and out."""

    day: str
    calls: int
    fallbacks: int
    input_tokens: int
    output_tokens: int
    cost_usd: float | None  # estimated at today's SDR_LLM_PRICES; None without prices


def daily_model_usage(session: Session, start: datetime, end: datetime,
                      cost: Callable[[int, int], float | None] = lambda i, o: None) -> list[ModelDay]:
    """Per day of the period, newest first; an empty list when the model was never asked."""
    day = func.date(ModelTurn.created_at)
    query = (
        select(day, func.count(ModelTurn.id),
               func.sum(case((ModelTurn.outcome.in_(ANSWERED), 0), else_=1)),
               func.sum(ModelTurn.input_tokens), func.sum(ModelTurn.output_tokens))
        .where(ModelTurn.created_at >= start, ModelTurn.created_at < end)
        .group_by(day).order_by(day.desc())
    )
    return [ModelDay(str(row[0]), int(row[1]), int(row[2] or 0), int(row[3] or 0), int(row[4] or 0),
                     cost(int(row[3] or 0), int(row[4] or 0)))
            for row in session.execute(query)]
