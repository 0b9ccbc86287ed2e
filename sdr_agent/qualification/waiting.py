"""A handed-off lead who writes again is told a person will answer, at most once per interval."""
from __future__ import annotations

from datetime import datetime, timedelta

# Long enough that a lead writing "alô?" three times in a row hears it once, short enough that
# someone still waiting an hour later is not met with silence.
ACK_INTERVAL = timedelta(minutes=15)
WAITING_TEXT = "handoff_waiting"
# `waiting_ack_at` of a lead an operator took over from the dashboard: a person is already talking.
OPERATOR = "operator"


def ack_due(last_ack_iso: str | None, now: datetime) -> bool:
    """Whether a waiting lead's message should be acknowledged now."""
    if last_ack_iso == OPERATOR:
        return False
    if not last_ack_iso:
        return True
    try:
        last = datetime.fromisoformat(last_ack_iso)
    except ValueError:
        return True
    if last.tzinfo is None or now.tzinfo is None:
        return True
    return now - last >= ACK_INTERVAL
