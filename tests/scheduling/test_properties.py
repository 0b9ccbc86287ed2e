"""Properties of free_slots over random zones, settings, clocks and bookings."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from sdr_agent.scheduling import SchedulingConfig, free_slots

# Zones with and without DST, including a 30-minute DST shift and a half-hour offset.
ZONES = ["America/Sao_Paulo", "America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "UTC"]
START = datetime(2025, 1, 1, tzinfo=timezone.utc)


@st.composite
def configs(draw: st.DrawFn) -> SchedulingConfig:
    opens = draw(st.integers(0, 22 * 60))
    length = draw(st.sampled_from([15, 20, 30, 45, 60, 90]))
    closes = draw(st.integers(opens + length, 23 * 60 + 59))
    holidays = draw(st.frozensets(st.dates(date(2025, 1, 1), date(2027, 3, 1)), max_size=8))
    return SchedulingConfig(
        zone=ZoneInfo(draw(st.sampled_from(ZONES))),
        business_days=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        opens=time(opens // 60, opens % 60),
        closes=time(closes // 60, closes % 60),
        slot_length=timedelta(minutes=length),
        min_notice=timedelta(minutes=draw(st.integers(0, 3 * 24 * 60))),
        horizon=timedelta(days=draw(st.integers(1, 30))),
        holidays=holidays,
    )


@settings(max_examples=150, deadline=None)
@given(
    config=configs(),
    minutes=st.integers(0, 2 * 365 * 24 * 60),
    taken_offsets=st.lists(st.integers(-24 * 60, 30 * 24 * 60), max_size=30),
    count=st.integers(0, 40),
)
def test_free_slots_are_free_bookable_sorted_and_unique(
    config: SchedulingConfig, minutes: int, taken_offsets: list[int], count: int
) -> None:
    now = START + timedelta(minutes=minutes)
    taken = [now + timedelta(minutes=offset) for offset in taken_offsets]
    slots = free_slots(config, now, taken, count)
    assert len(slots) <= count
    starts = [slot.start for slot in slots]
    assert starts == sorted(set(starts))
    for slot in slots:
        local = slot.start.astimezone(config.zone)
        assert slot.start.tzinfo is timezone.utc
        assert slot.end - slot.start == config.slot_length
        assert now + config.min_notice <= slot.start < now + config.horizon
        assert local.weekday() in config.business_days
        assert local.date() not in config.holidays
        wall = local.hour * 60 + local.minute
        opens = config.opens.hour * 60 + config.opens.minute
        closes = config.closes.hour * 60 + config.closes.minute
        length = int(config.slot_length.total_seconds() // 60)
        assert opens <= wall and wall + length <= closes
        assert (wall - opens) % length == 0
        # No overlap with a taken meeting (each one slot long).
        assert all(not (t < slot.end and slot.start < t + config.slot_length) for t in taken)


@settings(max_examples=60, deadline=None)
@given(config=configs(), minutes=st.integers(0, 365 * 24 * 60), count=st.integers(1, 20))
def test_taking_the_first_free_slot_yields_the_rest(config: SchedulingConfig, minutes: int, count: int) -> None:
    now = START + timedelta(minutes=minutes)
    slots = free_slots(config, now, [], count + 1)
    if slots:
        assert free_slots(config, now, [slots[0].start], count) == slots[1:]
