"""Job functions RQ imports by name; each runs inside the app's context."""
from __future__ import annotations

from datetime import timedelta

from ..outbound.delivery import deliver
from .runtime import get_app


def deliver_job(item_id: int) -> str:
    """Deliver one outbox item (idempotent: a repeated job finds it sent and does nothing)."""
    app = get_app()
    with app.app_context():
        return deliver(app.extensions["sdr_outbound"], item_id)


def sweep_job(reschedule: bool = True) -> dict[str, int]:
    """Run the periodic sweep, then schedule the next one."""
    app = get_app()
    with app.app_context():
        dispatcher = app.extensions["sdr_dispatcher"]
        counts = app.extensions["sdr_sweeper"].run()
        if reschedule:
            dispatcher.schedule_sweep(timedelta(seconds=app.extensions["sdr_settings"].sweep_interval_seconds))
        return counts
