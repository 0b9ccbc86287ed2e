"""Job functions RQ imports by name; each runs inside the app's context, in a scope of its own."""
from __future__ import annotations

from datetime import timedelta

from ..outbound.delivery import deliver
from ..telemetry import job_scope
from .runtime import get_app


def deliver_job(item_id: int) -> str:
    """Deliver one outbox item (idempotent: a repeated job finds it sent and does nothing)."""
    app = get_app()
    with app.app_context(), job_scope():
        return deliver(app.extensions["sdr_outbound"], item_id)


def sweep_job(reschedule: bool = True) -> dict[str, int]:
    """Run the periodic sweep (a Sentry cron monitor), then schedule the next one, whether it worked or not."""
    app = get_app()
    interval = app.extensions["sdr_settings"].sweep_interval_seconds or 60
    with app.app_context():
        try:
            return app.extensions["sdr_sweeper"].run_monitored()
        finally:
            # A failed sweep (the database down for a minute) must not end the chain: the next one
            # is scheduled anyway, and the error check-in tells Sentry this one failed.
            if reschedule:
                app.extensions["sdr_dispatcher"].schedule_sweep(timedelta(seconds=interval))
