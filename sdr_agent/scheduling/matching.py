"""What a reply to the slot offer means: an offered number, a free day and time, or neither."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from typing import Collection, Sequence

from .config import SchedulingConfig
from .option_number import option_number
from .slots import Slot, as_utc, closest_free_slots, is_free, slot_at
from .when import parse_when


class MatchKind(str, Enum):
    """How a reply was read."""

    CHOSEN = "chosen"  # `slot` is free and may be booked
    CLOSEST = "closest"  # the asked slot is not free (or only a day was named): offer `alternatives`
    NOT_UNDERSTOOD = "not_understood"  # no option number in range and no day or time


@dataclass(frozen=True)
class Match:
    """The reading of one reply; `requested` is the asked start (UTC) when a number or a time was given."""

    kind: MatchKind
    slot: Slot | None = None
    alternatives: tuple[Slot, ...] = ()
    requested: datetime | None = None


NOT_UNDERSTOOD = Match(MatchKind.NOT_UNDERSTOOD)


def match_choice(
    text: str,
    offered: Sequence[Slot],
    config: SchedulingConfig,
    now: datetime,
    language: str,
    taken: Collection[datetime] = (),
) -> Match:
    """Read the lead's reply to `offer_text`; `taken` are starts booked by anyone, so a stale offer is caught."""
    now = as_utc(now)
    number = option_number(text, len(offered))
    if number is not None:
        if not 1 <= number <= len(offered):
            return NOT_UNDERSTOOD
        return _book_or_closest(offered[number - 1].start, config, now, taken)
    when = parse_when(text, now.astimezone(config.zone), language)
    if when is None:
        return NOT_UNDERSTOOD
    if when.at is None:
        # Only a day: the slots nearest its opening time, i.e. that day's first free ones.
        opening = datetime.combine(when.day, config.opens, tzinfo=config.zone)
        return Match(MatchKind.CLOSEST, alternatives=tuple(closest_free_slots(config, now, taken, opening)))
    start = datetime.combine(when.day, when.at, tzinfo=config.zone).astimezone(timezone.utc)
    return _book_or_closest(start, config, now, taken)


def _book_or_closest(start: datetime, config: SchedulingConfig, now: datetime, taken: Collection[datetime]) -> Match:
    if is_free(config, now, taken, start):
        return Match(MatchKind.CHOSEN, slot=slot_at(config, start), requested=start)
    alternatives = tuple(closest_free_slots(config, now, taken, start))
    return Match(MatchKind.CLOSEST, alternatives=alternatives, requested=start)
