"""Read-only queries tests use to check what was stored."""
from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from sdr_agent.models import ConversationThread, Lead, Message, StageEvent


def rows(app: Flask, model: Any, **filters: Any) -> list[Any]:
    """All rows of a model matching equality filters, by id."""
    with app.extensions["sdr_session_factory"]() as session:
        query = select(model).filter_by(**filters).order_by(model.id)
        return list(session.scalars(query))


def count(app: Flask, model: Any, **filters: Any) -> int:
    """How many rows of a model match equality filters."""
    with app.extensions["sdr_session_factory"]() as session:
        return session.scalar(select(func.count()).select_from(model).filter_by(**filters)) or 0


def lead_by_phone(app: Flask, phone: str) -> Lead:
    """The lead with this E.164 number (fails if absent)."""
    (lead,) = rows(app, Lead, phone=phone)
    return lead


__all__ = ["rows", "count", "lead_by_phone", "Lead", "Message", "StageEvent", "ConversationThread"]
