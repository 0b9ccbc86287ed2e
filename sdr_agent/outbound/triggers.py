"""Which engine events put something in the outbox, written in the same transaction as the turn."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy.orm import Session

from ..qualification import Event, EventKind
from .outbox import CRM, HANDOFF, WHATSAPP, add_outbox_item


def queue_for_events(session: Session, lead_id: int, events: Iterable[Event], turn_key: str, now: datetime) -> list[int]:
    """Outbox items for a turn's events: handoff notice, callback request, CRM push, e-mail request after a call."""
    ids = []
    for event in events:
        if event.kind is EventKind.HANDOFF_REQUESTED:
            ids.append(add_outbox_item(session, lead_id=lead_id, kind=HANDOFF, purpose="lead.handoff",
                                       key=f"handoff:{turn_key}", payload={"reason": event.data.get("reason")}, now=now))
        elif event.kind is EventKind.CALLBACK_REQUESTED:
            # The team gets the request on the hand-off webhook; the bot keeps asking its questions.
            ids.append(add_outbox_item(session, lead_id=lead_id, kind=HANDOFF, purpose="lead.callback",
                                       key=f"callback:{turn_key}", payload={"reason": "callback_requested"}, now=now))
        elif event.kind in (EventKind.QUALIFIED, EventKind.DISQUALIFIED):
            outcome = "lead.qualified" if event.kind is EventKind.QUALIFIED else "lead.disqualified"
            ids.append(add_outbox_item(session, lead_id=lead_id, kind=CRM, purpose=outcome, key=f"crm:{turn_key}",
                                       payload={"reason": event.data.get("reason")}, now=now))
        elif event.kind is EventKind.DEFERRED_TO_WHATSAPP:
            ids.append(add_outbox_item(session, lead_id=lead_id, kind=WHATSAPP, purpose="email_request",
                                       key=f"email_request:{turn_key}", payload={"slot": event.data.get("slot")},
                                       now=now))
    return [item_id for item_id in ids if item_id is not None]
