"""The sweep's follow-up pass: one query finds leads who went quiet mid-flow, one transaction queues their nudges."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Sequence

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select

from ..config import Settings
from ..models import Lead, Message, OutboxItem
from ..outbound.delivery import OutboundServices
from ..outbound.outbox import WHATSAPP, add_outbox_item
from ..outbound.whatsapp_sender import WINDOW

log = logging.getLogger(__name__)

FOLLOW_UP = "follow_up"
BATCH = 500
# Silences older than the last nudge's due time plus this are left alone: a whole night of quiet
# hours or a worker outage fits inside, and the range of leads the query reads stays small.
GRACE = timedelta(days=1)


def queue_follow_ups(services: OutboundServices) -> list[int]:
    """Queue the nudges that are due now; returns the new outbox item ids (none during quiet hours)."""
    settings = services.settings
    now = services.clock()
    if settings.follow_up_max == 0 or not services.flow.stage_ids:
        return []
    if settings.quiet_hours is not None and settings.quiet_hours.contains(now, settings.lead_timezone):
        return []  # nothing is queued at night: the first sweep after the quiet hours catches up
    with services.session_factory.begin() as session:
        silences = session.execute(silent_leads(settings, services.flow.stage_ids, now)).all()
        ids = [
            add_outbox_item(session, lead_id=lead_id, kind=WHATSAPP, purpose=FOLLOW_UP,
                            key=nudge_key(lead_id, since, sent + 1), payload={"nudge": sent + 1, "silence_since": since.isoformat()}, now=now)
            for lead_id, since, sent in silences
        ]
    queued = [item_id for item_id in ids if item_id is not None]
    if queued:
        log.info("follow-ups queued: %d", len(queued))
    return queued


def silent_leads(settings: Settings, stage_ids: Sequence[str], now: datetime) -> Select[tuple[int, datetime, int]]:
    """(lead id, last inbound at, nudges sent since) of every lead due a nudge now.

    The nudges of the current silence are the lead's follow-up outbox items created after its last
    inbound message, so writing again starts the count over and no counter column is needed.
    """
    delay = settings.follow_up_after
    nudges_since = and_(OutboxItem.lead_id == Lead.id, OutboxItem.purpose == FOLLOW_UP,
                        OutboxItem.created_at > Lead.last_inbound_at)
    sent = func.count(OutboxItem.id)
    last_sent = func.max(OutboxItem.created_at)
    return (
        select(Lead.id, Lead.last_inbound_at, sent)
        .outerjoin(OutboxItem, nudges_since)
        .where(
            Lead.stage.in_(stage_ids),  # a question of the flow: not new, not finished
            Lead.opted_out.is_(False),
            Lead.handed_off.is_(False),
            Lead.phone.is_not(None),
            Lead.last_inbound_at <= now - delay,
            Lead.last_inbound_at > now - (delay * settings.follow_up_max + GRACE),
            _reachable(settings, now),
        )
        .group_by(Lead.id, Lead.last_inbound_at)
        .having(sent < settings.follow_up_max)
        .having(or_(last_sent.is_(None), last_sent <= now - delay))
        .order_by(Lead.last_inbound_at)
        .limit(BATCH)
    )


def nudge_key(lead_id: int, since: datetime, number: int) -> str:
    """One idempotency key per lead, silence and nudge number: a replayed sweep queues nothing twice."""
    return f"{FOLLOW_UP}:{lead_id}:{since:%Y%m%dT%H%M%S%f}:{number}"


def _reachable(settings: Settings, now: datetime) -> ColumnElement[bool]:
    """Leads a nudge can reach: inside WhatsApp's 24-hour window, or with a follow-up template in their language.

    Queuing anything else would only store a row that delivery skips.
    """
    in_window = exists().where(Message.lead_id == Lead.id, Message.channel == WHATSAPP,
                               Message.direction == "inbound", Message.created_at > now - WINDOW)
    templated = sorted(language for purpose, language in settings.whatsapp_templates if purpose == FOLLOW_UP)
    return or_(in_window, Lead.language.in_(templated)) if templated else in_window
