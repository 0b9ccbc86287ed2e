"""When the meeting reminder is due."""
from __future__ import annotations

from datetime import datetime

from .config import SchedulingConfig
from .slots import Slot


def reminder_at(slot: Slot, config: SchedulingConfig) -> datetime:
    """The UTC moment to remind the lead; it may already be past for a meeting booked at short notice."""
    return slot.start - config.reminder_before
