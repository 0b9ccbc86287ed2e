"""The periodic sweep: idle threads, follow-up nudges, deliveries whose time has come, sends interrupted by a crash."""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from ..leadgate import LeadGate
from ..models import OutboxItem
from ..outbound.delivery import OutboundServices, deliver
from ..outbound.outbox import FAILED, PENDING, SENDING, WHATSAPP
from ..telemetry import job_scope, monitor_job
from .follow_ups import queue_follow_ups
from .idle_threads import reset_idle_threads

log = logging.getLogger(__name__)

SWEEP_MONITOR = "sdr-sweep"
EVERY_MINUTE = "* * * * *"
STALE_AFTER = timedelta(minutes=10)  # far longer than any send takes, with every retry inside it
BATCH = 200


class Sweeper:
    """One pass over what is due; safe to run on several workers at once (deliveries are claimed)."""

    def __init__(self, services: OutboundServices, gate: LeadGate) -> None:
        self.services = services
        self.gate = gate

    def run_monitored(self) -> dict[str, int]:
        """`run` in a clean scope, between check-ins of the `sdr-sweep` cron monitor (RQ worker or in-process)."""
        interval = self.services.settings.sweep_interval_seconds or 60
        # A missed check-in means nobody is sweeping: reminders and retries are not going out.
        with job_scope(), monitor_job(SWEEP_MONITOR, schedule=EVERY_MINUTE if interval == 60 else None,
                                      checkin_margin_min=max(int(interval // 60), 1) + 1):
            return self.run()

    def run(self) -> dict[str, int]:
        """Recover interrupted sends, end idle threads, queue nudges, then deliver everything due; returns counts."""
        counts = {"interrupted": self._recover_interrupted()}
        counts["idle_reset"] = reset_idle_threads(self.services, self.gate)
        counts["follow_ups"] = len(queue_follow_ups(self.services))
        counts["delivered"] = self._deliver_due()  # includes the nudges just queued
        return counts

    def _recover_interrupted(self) -> int:
        now = self.services.clock()
        stale = (OutboxItem.status == SENDING, OutboxItem.updated_at < now - STALE_AFTER)
        with self.services.session_factory.begin() as session:
            # A WhatsApp message may have reached Twilio before the crash: never risk a second copy.
            lost = session.execute(
                update(OutboxItem).where(*stale, OutboxItem.kind == WHATSAPP)
                .values(status=FAILED, last_error="interrupted while sending; not resent to avoid a duplicate",
                        updated_at=now)
            ).rowcount
            # Webhook receivers deduplicate by X-SDR-Idempotency-Key, so those are simply tried again.
            retried = session.execute(
                update(OutboxItem).where(*stale, OutboxItem.kind != WHATSAPP)
                .values(status=PENDING, next_attempt_at=now, updated_at=now)
            ).rowcount
        return lost + retried

    def _deliver_due(self) -> int:
        now = self.services.clock()
        with self.services.session_factory() as session:
            due = session.scalars(
                select(OutboxItem.id)
                .where(OutboxItem.status == PENDING, OutboxItem.next_attempt_at <= now)
                .order_by(OutboxItem.next_attempt_at)
                .limit(BATCH)
            ).all()
        return sum(1 for item_id in due if deliver(self.services, item_id) != "not due")
