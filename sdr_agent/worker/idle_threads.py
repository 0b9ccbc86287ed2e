"""The sweep's idle pass: end threads of leads silent past SDR_IDLE_RESET_HOURS, under the lead's locks."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

from .. import telemetry
from ..conversation import RESET_IDLE
from ..leadgate import LeadGate
from ..models import ConversationThread, Lead
from ..outbound.delivery import OutboundServices

log = logging.getLogger(__name__)

BATCH = 200


def reset_idle_threads(services: OutboundServices, gate: LeadGate) -> int:
    """End every idle open thread (reason `idle_timeout`); the next message opens a new one. Returns how many."""
    now = services.clock()
    cutoff = now - timedelta(hours=services.settings.idle_reset_hours)
    with services.session_factory() as session:
        idle = session.execute(
            select(Lead.id, Lead.phone_hash)
            .where(Lead.current_thread_id.is_not(None), Lead.last_inbound_at < cutoff)
            .order_by(Lead.last_inbound_at)
            .limit(BATCH)
        ).all()
    return sum(1 for lead_id, lead_key in idle if _reset(services, gate, lead_id, lead_key, cutoff, now))


def _reset(services: OutboundServices, gate: LeadGate, lead_id: int, lead_key: str, cutoff: datetime,
           now: datetime) -> bool:
    # The conversation service's lock order (Redis lock, then the row lock): a message being
    # processed finishes first, and the condition is checked again on the locked row.
    with gate.lead_lock(lead_key), services.session_factory.begin() as session:
        lead = session.scalars(select(Lead).where(Lead.id == lead_id).with_for_update()).first()
        if lead is None or lead.current_thread_id is None or lead.last_inbound_at is None \
                or lead.last_inbound_at >= cutoff:
            return False  # the lead wrote meanwhile, or another sweep got here first
        thread = session.get(ConversationThread, lead.current_thread_id)
        if thread is not None and thread.ended_at is None:
            thread.ended_at = now
            thread.end_reason = RESET_IDLE
        lead.current_thread_id = None  # the service opens a new thread, marked as a return, on the next message
        stage = lead.stage
        channel = thread.channel if thread is not None else None
        age_s = max((now - thread.started_at).total_seconds(), 0.0) if thread is not None else 0.0
    # After the commit: a rolled-back reset is never reported.
    telemetry.thread_reset(RESET_IDLE, age_s, stage, lead_id=lead_key, channel=channel)
    log.info("thread reset", extra={"reason": RESET_IDLE})
    return True
