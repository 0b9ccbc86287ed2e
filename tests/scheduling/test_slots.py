"""Free slots: business days and hours, holidays, minimum notice, taken slots, DST, closest ones."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone

import pytest

from sdr_agent.scheduling import (
    SchedulingConfig, closest_free_slots, free_slots, is_free, reminder_at, slot_at,
)

from .conftest import NEW_YORK, NOW, local

UTC = timezone.utc


def starts(slots: list) -> list[datetime]:
    return [slot.start for slot in slots]


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_first_slots_respect_the_minimum_notice(config: SchedulingConfig) -> None:
    assert starts(free_slots(config, NOW, [])) == [local(11, 24, 11), local(11, 24, 11, 30), local(11, 24, 12)]


def test_slots_are_utc_and_one_slot_long(config: SchedulingConfig) -> None:
    slot = free_slots(config, NOW, [], 1)[0]
    assert slot.start.tzinfo is UTC and slot.end.tzinfo is UTC
    assert slot.start == utc(2025, 11, 24, 14)
    assert slot.end - slot.start == timedelta(minutes=30)
    assert slot.local_start == local(11, 24, 11)


def test_notice_boundary_is_inclusive(config: SchedulingConfig) -> None:
    assert free_slots(config, local(11, 24, 15, 30), [], 1)[0].start == local(11, 24, 17, 30)
    # 15:31 + 2 h is past the last slot (17:30-18:00): the next one is Tuesday's first.
    assert free_slots(config, local(11, 24, 15, 31), [], 1)[0].start == local(11, 25, 9)


def test_weekend_is_skipped(config: SchedulingConfig) -> None:
    friday_evening = local(11, 28, 17)
    assert starts(free_slots(config, friday_evening, [])) == [local(12, 1, 9), local(12, 1, 9, 30), local(12, 1, 10)]


def test_holidays_are_skipped(config: SchedulingConfig) -> None:
    holidays = replace(config, holidays=frozenset({date(2025, 12, 1)}))
    assert free_slots(holidays, local(11, 28, 17), [], 1)[0].start == local(12, 2, 9)


def test_holiday_is_a_local_date() -> None:
    # The 24 Dec 23:00 slot is 25 Dec 02:00 UTC, and still skipped: holidays are local dates.
    night = SchedulingConfig(
        business_days=frozenset(range(7)), opens=time(23), closes=time(23, 59), holidays=frozenset({date(2025, 12, 24)}),
        min_notice=timedelta(0),
    )
    slots = free_slots(night, local(12, 24, 12), [], 1)
    assert slots[0].local_start == local(12, 25, 23)


def test_taken_slots_are_skipped(config: SchedulingConfig) -> None:
    taken = [local(11, 24, 11).astimezone(UTC), local(11, 24, 11, 30)]
    assert starts(free_slots(config, NOW, taken)) == [local(11, 24, 12), local(11, 24, 12, 30), local(11, 24, 13)]


def test_a_taken_meeting_off_the_grid_blocks_both_slots_it_overlaps(config: SchedulingConfig) -> None:
    taken = [local(11, 24, 11, 15)]
    assert starts(free_slots(config, NOW, taken, 2)) == [local(11, 24, 12), local(11, 24, 12, 30)]


def test_count_and_horizon(config: SchedulingConfig) -> None:
    assert len(free_slots(config, NOW, [], 10)) == 10
    # Friday evening with a one-day horizon: the weekend leaves nothing.
    assert free_slots(replace(config, horizon=timedelta(days=1)), local(11, 28, 17), [], 3) == []
    # Everything within two weeks: 10 business days of 18 slots, minus the 4 inside the notice on Monday.
    assert len(free_slots(config, NOW, [], 1000)) == 10 * 18 - 4


def test_naive_datetimes_are_refused(config: SchedulingConfig) -> None:
    with pytest.raises(ValueError, match="no time zone"):
        free_slots(config, datetime(2025, 11, 24, 12), [])
    with pytest.raises(ValueError, match="no time zone"):
        free_slots(config, NOW, [datetime(2025, 11, 24, 14)])


def test_new_york_after_spring_forward() -> None:
    config = SchedulingConfig(zone=NEW_YORK)
    friday = datetime(2026, 3, 6, 17, tzinfo=NEW_YORK)  # 22:00 UTC, still EST
    # Monday 09:00 is EDT (UTC-4) now: 13:00 UTC, not 14:00.
    assert starts(free_slots(config, friday, [])) == [utc(2026, 3, 9, 13), utc(2026, 3, 9, 13, 30), utc(2026, 3, 9, 14)]


def test_new_york_after_fall_back() -> None:
    config = SchedulingConfig(zone=NEW_YORK)
    friday = datetime(2025, 10, 31, 17, tzinfo=NEW_YORK)
    assert free_slots(config, friday, [], 1)[0].start == utc(2025, 11, 3, 14)


def test_night_hours_across_dst_changes_skip_missing_and_repeat_nothing() -> None:
    config = SchedulingConfig(
        zone=NEW_YORK, business_days=frozenset({6}), opens=time(0), closes=time(4), min_notice=timedelta(0)
    )
    spring = free_slots(config, utc(2026, 3, 8, 0), [], 10)
    # 02:00 and 02:30 do not exist that night.
    assert starts(spring) == [utc(2026, 3, 8, 5), utc(2026, 3, 8, 5, 30), utc(2026, 3, 8, 6), utc(2026, 3, 8, 6, 30),
                              utc(2026, 3, 8, 7), utc(2026, 3, 8, 7, 30)] + starts(spring)[6:]
    assert spring[6].start.date() == date(2026, 3, 15)
    autumn = free_slots(config, utc(2025, 11, 2, 0), [], 8)
    # 01:00 and 01:30 happen twice; each is offered once (the first, EDT).
    assert starts(autumn) == [utc(2025, 11, 2, 4), utc(2025, 11, 2, 4, 30), utc(2025, 11, 2, 5), utc(2025, 11, 2, 5, 30),
                              utc(2025, 11, 2, 7), utc(2025, 11, 2, 7, 30), utc(2025, 11, 2, 8), utc(2025, 11, 2, 8, 30)]


def test_is_free(config: SchedulingConfig) -> None:
    assert is_free(config, NOW, [], local(11, 25, 15))
    assert not is_free(config, NOW, [], local(11, 25, 15, 15))  # off the grid
    assert not is_free(config, NOW, [local(11, 25, 15)], local(11, 25, 15))  # taken
    assert not is_free(config, NOW, [], local(11, 24, 10))  # inside the notice
    assert not is_free(config, NOW, [], local(11, 29, 10))  # Saturday
    assert not is_free(config, NOW, [], local(11, 25, 18))  # closing time
    assert not is_free(config, NOW, [], local(12, 9, 10))  # past the 14-day horizon


def test_closest_free_slots_surround_a_taken_time(config: SchedulingConfig) -> None:
    closest = closest_free_slots(config, NOW, [local(11, 25, 15)], local(11, 25, 15))
    # 14:30 and 15:30 are 30 min away; 14:00 and 16:00 tie at 60 min and the earlier wins.
    assert starts(closest) == [local(11, 25, 14), local(11, 25, 14, 30), local(11, 25, 15, 30)]


def test_closest_free_slots_after_hours(config: SchedulingConfig) -> None:
    closest = closest_free_slots(config, NOW, [], local(11, 25, 20))
    assert starts(closest) == [local(11, 25, 16, 30), local(11, 25, 17), local(11, 25, 17, 30)]


def test_slot_at_and_reminder(config: SchedulingConfig) -> None:
    slot = slot_at(config, local(11, 25, 15))
    assert (slot.start, slot.end) == (utc(2025, 11, 25, 18), utc(2025, 11, 25, 18, 30))
    assert reminder_at(slot, config) == utc(2025, 11, 25, 17)
    assert reminder_at(slot, replace(config, reminder_before=timedelta(minutes=15))) == utc(2025, 11, 25, 17, 45)
