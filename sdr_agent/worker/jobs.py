"""Job functions RQ imports by name; each runs inside the app's context."""
from __future__ import annotations

from datetime import timedelta

from ..outbound.delivery import deliver
from ..telemetry import monitor_job
from .runtime import get_app

SWEEP_MONITOR = "sdr-sweep"
EVERY_MINUTE = "* * * * *"


def deliver_job(item_id: int) -> str:
    """Deliver one outbox item (idempotent: a repeated job finds it sent and does nothing)."""
    app = get_app()
    with app.app_context():
        return deliver(app.extensions["sdr_outbound"], item_id)


def sweep_job(reschedule: bool = True) -> dict[str, int]:
    """Run the periodic sweep (a Sentry cron monitor), then schedule the next one."""
    app = get_app()
    interval = app.extensions["sdr_settings"].sweep_interval_seconds or 60
    with app.app_context():
        dispatcher = app.extensions["sdr_dispatcher"]
        # A missed check-in means no worker is sweeping: reminders and retries are not going out.
        with monitor_job(SWEEP_MONITOR, schedule=EVERY_MINUTE if interval == 60 else None,
                         checkin_margin_min=max(int(interval // 60), 1) + 1):
            counts = app.extensions["sdr_sweeper"].run()
        if reschedule:
            dispatcher.schedule_sweep(timedelta(seconds=interval))
        return counts
