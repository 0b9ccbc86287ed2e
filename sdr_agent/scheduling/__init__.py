"""Meeting booking, pure: free slots, the offer text, reading the lead's choice, commands, .ics, reminders.

Imports only the standard library and the qualification engine's text helpers. Every datetime
in and out is timezone-aware; slots are computed in the configured zone and returned in UTC.
"""
from .config import SchedulingConfig, SchedulingConfigError
from .ics import ics_event
from .intents import BookingIntent, detect_booking_intent
from .matching import Match, MatchKind, match_choice
from .reminders import reminder_at
from .slots import Slot, closest_free_slots, free_slots, is_free, slot_at
from .wording import offer_text, zone_label

__all__ = [
    "BookingIntent",
    "Match",
    "MatchKind",
    "SchedulingConfig",
    "SchedulingConfigError",
    "Slot",
    "closest_free_slots",
    "detect_booking_intent",
    "free_slots",
    "ics_event",
    "is_free",
    "match_choice",
    "offer_text",
    "reminder_at",
    "slot_at",
    "zone_label",
]
