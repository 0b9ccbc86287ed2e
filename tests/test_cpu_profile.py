"""The CPU profile of the hot path (`python -m bench.cpu_profile`) runs end to end and attributes Sentry's cost."""
from __future__ import annotations

import pytest

from bench.cpu_profile import SENTRY_FEATURES, report, run
from tests.conftest import pg_server_url, require_postgres

pytestmark = pytest.mark.slow


def test_the_profile_finds_sentry_only_where_it_is_on(redis_server_url: str) -> None:
    server_url = pg_server_url()
    require_postgres(server_url)
    floor, off, traced = run(server_url, redis_server_url, warmup=20, messages=60)
    assert (floor.setting, off.setting, traced.setting) == ("floor", "off", "0.1")
    # The floor touches no database: what the service adds is all on the other side of the comparison.
    assert "psycopg" not in floor.components_ms and floor.cpu_ms_per_message < off.cpu_ms_per_message
    for profile in (off, traced):
        assert profile.cpu_ms_per_message == pytest.approx(sum(profile.components_ms.values()))
        # The message really went through the database and the engine.
        assert profile.components_ms["psycopg"] > 0 and profile.components_ms["sdr_agent/qualification"] > 0
    assert "sentry_sdk" not in off.components_ms and "sdr_agent/scrubbing" not in off.components_ms
    assert traced.components_ms["sentry_sdk"] > 0 and traced.components_ms["sdr_agent/scrubbing"] > 0
    stage_trail = [feature for feature in SENTRY_FEATURES if feature.startswith("stage trail")][0]
    assert traced.features_ms[stage_trail] > 0
    table = report([floor, off, traced])
    assert "| **total** |" in table and "Sentry 0.1 adds" in table and "the floor's CPU" in table
