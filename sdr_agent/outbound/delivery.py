"""Delivering one outbox item: claim it, send it, and record what happened (sent, skipped, retry, failed)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

import requests
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from ..config import Settings
from ..models import Booking, ConversationThread, Lead, Message, OutboxItem
from ..qualification import TERMINAL_STAGES, Flow
from .. import telemetry
from ..telemetry import OUTBOUND_OP, MessageTrace, message_trace
from .leads import booking_summary, lead_summary, slack_text
from .notify import PermanentNotifyError, RetryableNotifyError, post_json
from .outbox import CALENDAR, CRM, FAILED, HANDOFF, PENDING, SENDING, SENT, SKIPPED, WHATSAPP
from .texts import outbound_text, template_variables
from .whatsapp_sender import (AmbiguousSendError, PermanentSendError, RetryableSendError, WhatsAppMessage, WhatsAppSender,
                              in_window)

log = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
ERROR_CHARS = 200


@dataclass
class OutboundServices:
    """What delivering needs; built once per process."""

    settings: Settings
    session_factory: sessionmaker[Session]
    flow: Flow
    sender: WhatsAppSender
    http: requests.Session
    clock: Callable[[], datetime]


@dataclass(frozen=True)
class Decision:
    """How one delivery attempt ended."""

    status: str
    reason: str | None = None
    failure: str | None = None  # why it was given up on: retries_exhausted, rejected, outcome_unknown, …
    trace_status: str = "ok"  # the attempt's transaction status, which failure-rate alerts count


class _Skip(Exception):
    """Nothing to send, on purpose; the reason is stored."""


class _WindowClosed(_Skip):
    """Nothing can be sent: the 24-hour window closed and no template exists for the purpose and language."""


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: 30 s, 1 min, 2 min, … capped at an hour."""
    return timedelta(seconds=min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS))


def deliver(services: OutboundServices, item_id: int) -> str:
    """Deliver one outbox item if it is due; returns its status afterwards ("not due" if someone else has it)."""
    now = services.clock()
    with services.session_factory.begin() as session:
        claimed = session.execute(
            update(OutboxItem)
            .where(OutboxItem.id == item_id, OutboxItem.status == PENDING)
            .where(or_(OutboxItem.next_attempt_at.is_(None), OutboxItem.next_attempt_at <= now))
            .values(status=SENDING, attempts=OutboxItem.attempts + 1, updated_at=now)
        ).rowcount
    if not claimed:
        return "not due"  # already sent, being sent by another worker, or waiting for its retry time
    # Read what is needed and close the session: no database lock is held while Twilio or a
    # webhook receiver takes its time.
    with services.session_factory() as session:
        item = session.get(OutboxItem, item_id)
        assert item is not None
        lead = session.get(Lead, item.lead_id) if item.lead_id is not None else None
        last_inbound = last_whatsapp_inbound(session, lead.id) if lead is not None and item.kind == WHATSAPP else None
        booking = session.get(Booking, item.payload["booking_id"]) if item.payload.get("booking_id") else None
    with message_trace(item.kind, f"outbox.{item.kind}", op=OUTBOUND_OP) as trace:
        if lead is not None:
            trace.set_lead(lead.phone_hash)
            trace.redact(lead.phone, lead.name, lead.company, lead.email, lead.profile_name)
        decision = _attempt(services, item, lead, last_inbound, booking)
        _report(trace, item, decision)
    _finish(services, item_id, item.attempts, decision)
    return decision.status


def _attempt(services: OutboundServices, item: OutboxItem, lead: Lead | None, last_inbound: datetime | None,
             booking: Booking | None) -> Decision:
    try:
        if item.kind == WHATSAPP:
            _send_whatsapp(services, item, lead, last_inbound)
        elif item.kind in (HANDOFF, CRM, CALENDAR):
            _notify(services, item, lead, booking)
        else:
            return Decision(FAILED, f"unknown kind {item.kind!r}", "unknown_kind", "internal_error")
    except _WindowClosed as closed:
        # A lead who should have heard from us will not: unlike the other skips, someone must act
        # (approve a template), so it is a warning event, not only a stored reason.
        log.info("outbound %s skipped: %s", item.kind, closed)
        telemetry.whatsapp_window_closed(item.purpose, lead.language if lead is not None else None)
        return Decision(SKIPPED, str(closed), trace_status="failed_precondition")
    except _Skip as skip:
        log.info("outbound %s skipped: %s", item.kind, skip)
        return Decision(SKIPPED, str(skip), trace_status="cancelled")
    except (RetryableSendError, RetryableNotifyError) as exc:
        if item.attempts >= services.settings.outbound_max_attempts:
            return Decision(FAILED, f"gave up after {item.attempts} attempts: {exc}", "retries_exhausted",
                            "unavailable")
        return Decision(PENDING, str(exc), trace_status="unavailable")
    except (PermanentSendError, PermanentNotifyError) as exc:
        return Decision(FAILED, str(exc), "rejected", "internal_error")
    except AmbiguousSendError as exc:
        # Twilio's Messages API has no idempotency key: a lead must never get a message twice,
        # so an attempt that may have been accepted is not repeated (as for items stuck in `sending`).
        log.warning("outbound item %s: outcome unknown (%s), not resent", item.id, exc)
        return Decision(FAILED, f"outcome unknown after {exc}: not resent", "outcome_unknown", "unknown_error")
    return Decision(SENT)


def _report(trace: MessageTrace, item: OutboxItem, decision: Decision) -> None:
    """Transaction status of the attempt; an error event when the item is given up on."""
    trace.set_status(decision.trace_status)
    if decision.status == FAILED:
        telemetry.delivery_failed(item.kind, decision.failure or "failed", item.purpose, item.attempts,
                                  decision.reason)


def _finish(services: OutboundServices, item_id: int, attempts: int, decision: Decision) -> None:
    now = services.clock()
    values: dict[str, Any] = {"status": decision.status, "updated_at": now,
                              "last_error": (decision.reason or None) and decision.reason[:ERROR_CHARS]}
    if decision.status == SENT:
        values["sent_at"] = now
    if decision.status == PENDING:
        values["next_attempt_at"] = now + retry_delay(attempts)
    with services.session_factory.begin() as session:
        session.execute(update(OutboxItem).where(OutboxItem.id == item_id).values(**values))
    log.info("outbound item %s: %s", item_id, decision.status)


def _send_whatsapp(services: OutboundServices, item: OutboxItem, lead: Lead | None, last_inbound: datetime | None) -> None:
    if lead is None or not lead.phone:
        raise _Skip("the lead was erased")
    if lead.opted_out:
        raise _Skip("the lead opted out")
    if item.purpose == "follow_up" and (lead.handed_off or lead.stage in TERMINAL_STAGES):
        raise _Skip("the lead no longer needs a follow-up")
    if item.purpose == "follow_up" and _silence_ended(item, lead):
        raise _Skip("the lead wrote again after the follow-up was queued")
    language = lead.language
    now = services.clock()
    if in_window(last_inbound, now):
        message = WhatsAppMessage(to=lead.phone, body=outbound_text(services.flow, item.purpose, lead, item.payload))
    else:
        content_sid = services.settings.whatsapp_templates.get((item.purpose, language))
        if content_sid is None:
            # Free text would fail with Twilio error 63016; a template is the only way in.
            raise _WindowClosed(f"outside the 24-hour window and no {item.purpose} template for {language}")
        message = WhatsAppMessage(to=lead.phone, content_sid=content_sid,
                                  content_variables=template_variables(item.purpose, lead, item.payload))
    parts = message.parts()
    if not services.sender.live:
        _store_sent(services, lead, parts, [None] * len(parts), "not_sent", now)
        raise _Skip("no Twilio credentials: stored, not sent")
    sids = list(item.provider_sids or [])
    # Parts already sent by an earlier attempt are never sent again.
    for part in parts[len(sids):]:
        sids.append(services.sender.send_part(message, part))
        with services.session_factory.begin() as progress:
            progress.execute(update(OutboxItem).where(OutboxItem.id == item.id).values(provider_sids=list(sids)))
    _store_sent(services, lead, parts, sids, "queued", now)


def _silence_ended(item: OutboxItem, lead: Lead) -> bool:
    """Whether the lead has written since the silence a follow-up was queued for began."""
    since = item.payload.get("silence_since")
    return bool(since) and lead.last_inbound_at is not None and lead.last_inbound_at > datetime.fromisoformat(since)


def _store_sent(services: OutboundServices, lead: Lead, parts: list[str | None], sids: list[str | None], status: str,
                now: datetime) -> None:
    """Outbound rows for the transcript; the status callback updates them by MessageSid."""
    with services.session_factory.begin() as session:
        thread_id = session.scalar(select(Lead.current_thread_id).where(Lead.id == lead.id)) or session.scalar(
            select(func.max(ConversationThread.id)).where(ConversationThread.lead_id == lead.id))
        if thread_id is None:
            return
        for part, sid in zip(parts, sids):
            session.add(Message(lead_id=lead.id, thread_id=thread_id, direction="outbound", channel=WHATSAPP,
                                text=part if part is not None else "[template]", provider_sid=sid, status=status,
                                created_at=now))


def last_whatsapp_inbound(session: Session, lead_id: int) -> datetime | None:
    """When the lead last wrote on WhatsApp (the 24-hour window's start), or None."""
    return session.scalar(
        select(func.max(Message.created_at))
        .where(Message.lead_id == lead_id, Message.channel == WHATSAPP, Message.direction == "inbound")
    )


def _notify(services: OutboundServices, item: OutboxItem, lead: Lead | None, booking: Booking | None) -> None:
    settings = services.settings
    url = {HANDOFF: settings.handoff_webhook_url, CRM: settings.crm_webhook_url,
           CALENDAR: settings.calendar_webhook_url}[item.kind]
    if not url:
        raise _Skip(f"no {item.kind} webhook URL configured")
    if lead is None:
        raise _Skip("the lead was erased")
    summary = lead_summary(lead, item.purpose, item.payload, settings.public_base_url)
    if booking is not None:
        summary["booking"] = booking_summary(booking, settings.public_base_url)
    payload = {"text": slack_text(summary)} if item.kind == HANDOFF and settings.handoff_webhook_format == "slack" else summary
    post_json(services.http, url, payload, secret=settings.webhook_secret, key=item.idempotency_key,
              integration=item.kind, timeout_s=settings.webhook_timeout_seconds)

