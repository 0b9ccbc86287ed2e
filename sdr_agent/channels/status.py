"""POST /twilio/status: delivery status callbacks for outbound messages."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request
from sqlalchemy import or_, select, update

from .. import telemetry
from ..models import Lead, Message, utcnow
from .form import clean_field, message_sid
from .signature import twilio_signed

bp = Blueprint("status", __name__)
log = logging.getLogger(__name__)

# Twilio's message lifecycle; a callback may only move a message forward.
STATUS_RANK = {
    "accepted": 1,
    "scheduled": 1,
    "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
    "canceled": 4,
}
# Final statuses that mean the lead never got the message.
NOT_DELIVERED = frozenset({"failed", "undelivered"})


@bp.post("/twilio/status")
@twilio_signed
def message_status() -> Response:
    """Record a delivery status; duplicates, stale updates and unknown SIDs change nothing."""
    # Cleaned like every webhook field: PostgreSQL refuses NUL even in a WHERE parameter.
    sid = message_sid(request.form)
    status = clean_field(request.form.get("MessageStatus") or request.form.get("SmsStatus"), 20).lower()
    if status not in STATUS_RANK:
        abort(400, description="missing or unknown MessageStatus")
    lower = [name for name, rank in STATUS_RANK.items() if rank < STATUS_RANK[status]]
    values = {"status": status, "status_updated_at": utcnow()}
    error_code = clean_field(request.form.get("ErrorCode"), 16)
    if error_code:
        values["error_code"] = error_code
    with current_app.extensions["sdr_session_factory"].begin() as session:
        # One conditional UPDATE: atomic against concurrent callbacks, never backwards.
        result = session.execute(
            update(Message)
            .where(Message.provider_sid == sid, Message.direction == "outbound")
            .where(or_(Message.status.is_(None), Message.status.in_(lower)))
            .values(**values)
        )
        if result.rowcount == 0 and session.scalar(select(Message.id).where(Message.provider_sid == sid)) is None:
            log.info("status callback for an unknown message", extra={"status": status})
        lead_key = None
        if result.rowcount and status in NOT_DELIVERED:
            lead_key = session.scalar(select(Lead.phone_hash).join(Message, Message.lead_id == Lead.id)
                                      .where(Message.provider_sid == sid))
    if result.rowcount and status in NOT_DELIVERED:
        # Reported once: a repeated or late callback updates no row.
        telemetry.message_undelivered(status, error_code or None, lead_key)
    return Response(status=200)
