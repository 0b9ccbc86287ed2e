"""Fixtures for the scheduling tests: a fixed "now" and configurations."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sdr_agent.scheduling import SchedulingConfig

SAO_PAULO = ZoneInfo("America/Sao_Paulo")
NEW_YORK = ZoneInfo("America/New_York")
# Monday 24 November 2025, 09:00 in São Paulo (12:00 UTC).
NOW = datetime(2025, 11, 24, 9, 0, tzinfo=SAO_PAULO)


def local(month: int, day: int, hour: int, minute: int = 0, zone: ZoneInfo = SAO_PAULO, year: int = 2025) -> datetime:
    """A wall-clock time in `zone`, the way the expectations below are written."""
    return datetime(year, month, day, hour, minute, tzinfo=zone)


@pytest.fixture
def config() -> SchedulingConfig:
    """The defaults: São Paulo, Mon-Fri 09:00-18:00, 30 min slots, 2 h notice, 3 offered."""
    return SchedulingConfig.from_env({})
