"""SDR_BOOKING_* settings: defaults, parsing, and errors that name the variable."""
from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from sdr_agent.scheduling import SchedulingConfig, SchedulingConfigError


def test_defaults() -> None:
    config = SchedulingConfig.from_env({})
    assert config.zone == ZoneInfo("America/Sao_Paulo")
    assert config.business_days == {0, 1, 2, 3, 4}
    assert (config.opens, config.closes) == (time(9), time(18))
    assert config.slot_length == timedelta(minutes=30)
    assert config.min_notice == timedelta(hours=2)
    assert config.offer_count == 3
    assert config.horizon == timedelta(days=14)
    assert config.holidays == frozenset()
    assert config.reminder_before == timedelta(minutes=60)


def test_every_setting_is_read() -> None:
    config = SchedulingConfig.from_env(
        {
            "SDR_BOOKING_TIMEZONE": "America/New_York",
            "SDR_BOOKING_DAYS": "sun-thu",
            "SDR_BOOKING_HOURS": "8:30-12",
            "SDR_BOOKING_SLOT_MINUTES": "45",
            "SDR_BOOKING_MIN_NOTICE_MINUTES": "0",
            "SDR_BOOKING_OFFER_COUNT": "5",
            "SDR_BOOKING_HORIZON_DAYS": "30",
            "SDR_BOOKING_HOLIDAYS": " 2025-12-25, 2026-01-01 ,",
            "SDR_BOOKING_REMINDER_MINUTES": "15",
        }
    )
    assert config.zone == ZoneInfo("America/New_York")
    assert config.business_days == {6, 0, 1, 2, 3}
    assert (config.opens, config.closes) == (time(8, 30), time(12))
    assert config.slot_length == timedelta(minutes=45)
    assert config.min_notice == timedelta(0)
    assert config.offer_count == 5
    assert config.horizon == timedelta(days=30)
    assert config.holidays == {date(2025, 12, 25), date(2026, 1, 1)}
    assert config.reminder_before == timedelta(minutes=15)


@pytest.mark.parametrize(
    "raw, expected",
    [("mon,wed,fri", {0, 2, 4}), ("MON-FRI", {0, 1, 2, 3, 4}), ("sat", {5}), ("fri-mon", {4, 5, 6, 0}),
     ("monday-tuesday", {0, 1})],
)
def test_business_days(raw: str, expected: set[int]) -> None:
    assert SchedulingConfig.from_env({"SDR_BOOKING_DAYS": raw}).business_days == expected


def test_blank_values_take_the_default() -> None:
    assert SchedulingConfig.from_env({"SDR_BOOKING_OFFER_COUNT": "  "}).offer_count == 3


@pytest.mark.parametrize(
    "variable, raw",
    [
        ("SDR_BOOKING_TIMEZONE", "Mars/Olympus"),
        ("SDR_BOOKING_TIMEZONE", "../etc/passwd"),
        ("SDR_BOOKING_DAYS", "weekdays"),
        ("SDR_BOOKING_DAYS", "mon,,fri"),
        ("SDR_BOOKING_HOURS", "18:00-09:00"),
        ("SDR_BOOKING_HOURS", "9am-6pm"),
        ("SDR_BOOKING_HOURS", "25:00-26:00"),
        ("SDR_BOOKING_HOURS", "09:00-09:15"),  # no 30-minute slot fits
        ("SDR_BOOKING_SLOT_MINUTES", "0"),
        ("SDR_BOOKING_SLOT_MINUTES", "thirty"),
        ("SDR_BOOKING_MIN_NOTICE_MINUTES", "-5"),
        ("SDR_BOOKING_OFFER_COUNT", "0"),
        ("SDR_BOOKING_OFFER_COUNT", "11"),
        ("SDR_BOOKING_HORIZON_DAYS", "0"),
        ("SDR_BOOKING_HOLIDAYS", "2025-12-25,25/12/2025"),
        ("SDR_BOOKING_REMINDER_MINUTES", "1.5"),
    ],
)
def test_invalid_values_name_the_variable(variable: str, raw: str) -> None:
    with pytest.raises(SchedulingConfigError, match=f"^{variable}: ") as error:
        SchedulingConfig.from_env({variable: raw})
    assert error.value.variable == variable
    assert isinstance(error.value, ValueError)


def test_config_is_frozen() -> None:
    config = SchedulingConfig.from_env({})
    with pytest.raises(AttributeError):
        config.offer_count = 4  # type: ignore[misc]
