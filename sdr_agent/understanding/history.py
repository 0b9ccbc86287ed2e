"""The last few messages of a lead's conversation, read only when the model is about to be asked."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Message
from .prompt import MAX_HISTORY_TURNS, Turn


def recent_turns(session: Session, lead_id: int, limit: int = MAX_HISTORY_TURNS) -> list[Turn]:
    """The lead's latest messages and the bot's replies, oldest first (one indexed query)."""
    rows = session.execute(select(Message.direction, Message.text).where(Message.lead_id == lead_id)
                           .order_by(Message.id.desc()).limit(limit)).all()
    return [Turn("lead" if direction == "inbound" else "bot", text or "") for direction, text in reversed(rows)]
