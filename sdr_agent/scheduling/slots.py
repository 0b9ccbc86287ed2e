"""Which meeting slots exist and which are free: computed in the configured zone, returned in UTC."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Collection, Iterator
from zoneinfo import ZoneInfo

from .config import SchedulingConfig
from .wording import slot_label


@dataclass(frozen=True, order=True)
class Slot:
    """One bookable meeting: start and end in UTC, and the zone it is shown in."""

    start: datetime
    end: datetime
    zone: ZoneInfo = field(compare=False)

    @property
    def local_start(self) -> datetime:
        """The start as wall-clock time in the configured zone."""
        return self.start.astimezone(self.zone)

    def label(self, language: str, *, with_zone: bool = False) -> str:
        """"terça, 25/11 às 15:00" or "Tue, Nov 25 at 3:00 PM", optionally with "(horário de Brasília)"."""
        return slot_label(self.local_start, language, self.zone, with_zone)


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; naive datetimes are refused because their zone is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no time zone")
    return moment.astimezone(timezone.utc)


def slot_at(config: SchedulingConfig, start: datetime) -> Slot:
    """The slot starting at `start` (e.g. one stored in the database), whether or not it is free."""
    start = as_utc(start)
    return Slot(start, start + config.slot_length, config.zone)


def free_slots(
    config: SchedulingConfig, now: datetime, taken: Collection[datetime], count: int | None = None
) -> list[Slot]:
    """The next `count` (default: the configured offer count) free slots, earliest first."""
    wanted = config.offer_count if count is None else count
    found: list[Slot] = []
    for slot in all_free_slots(config, now, taken):
        if len(found) >= wanted:
            break
        found.append(slot)
    return found


def all_free_slots(config: SchedulingConfig, now: datetime, taken: Collection[datetime]) -> Iterator[Slot]:
    """Every free slot from the minimum notice to the horizon, earliest first."""
    now = as_utc(now)
    blocked = _Blocked(config, taken)
    earliest, latest = now + config.min_notice, now + config.horizon
    for slot in _grid(config, now.astimezone(config.zone).date(), latest):
        if slot.start >= latest:
            return
        if slot.start >= earliest and not blocked.overlaps(slot):
            yield slot


def is_free(config: SchedulingConfig, now: datetime, taken: Collection[datetime], start: datetime) -> bool:
    """Whether a slot starts exactly at `start` and may be booked now (the check to repeat before storing)."""
    start = as_utc(start)
    day = start.astimezone(config.zone).date()
    now = as_utc(now)
    in_grid = any(slot.start == start for slot in _day_slots(config, day))
    return (
        in_grid
        and now + config.min_notice <= start < now + config.horizon
        and not _Blocked(config, taken).overlaps(slot_at(config, start))
    )


def closest_free_slots(
    config: SchedulingConfig, now: datetime, taken: Collection[datetime], target: datetime, count: int | None = None
) -> list[Slot]:
    """The free slots nearest to `target` (earlier or later), in chronological order."""
    target = as_utc(target)
    wanted = config.offer_count if count is None else count
    nearest = sorted(all_free_slots(config, now, taken), key=lambda slot: (abs(slot.start - target), slot.start))
    return sorted(nearest[:wanted])


def _grid(config: SchedulingConfig, first_day: date, latest: datetime) -> Iterator[Slot]:
    """Slots of every business day from `first_day` on, until a day starts after `latest`."""
    last_day = latest.astimezone(config.zone).date()
    day = first_day
    while day <= last_day:
        yield from _day_slots(config, day)
        day += timedelta(days=1)


def _day_slots(config: SchedulingConfig, day: date) -> Iterator[Slot]:
    """The slots of one local day, empty on non-business days and holidays."""
    if day.weekday() not in config.business_days or day in config.holidays:
        return
    step = int(config.slot_length.total_seconds() // 60)
    opens, closes = _minutes(config.opens), _minutes(config.closes)
    for minute in range(opens, closes - step + 1, step):
        wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=config.zone)
        start = wall.astimezone(timezone.utc)
        # A wall time skipped by a DST jump does not exist; the round trip shows it.
        if start.astimezone(config.zone).replace(tzinfo=None) != wall.replace(tzinfo=None):
            continue
        yield Slot(start, start + config.slot_length, config.zone)


class _Blocked:
    """Taken meetings, each assumed to last one slot length, so a changed grid still avoids overlaps."""

    def __init__(self, config: SchedulingConfig, taken: Collection[datetime]) -> None:
        self._length = config.slot_length
        self._starts = sorted({as_utc(moment) for moment in taken})

    def overlaps(self, slot: Slot) -> bool:
        return any(start < slot.end and slot.start < start + self._length for start in self._starts)


def _minutes(moment: time) -> int:
    return moment.hour * 60 + moment.minute
