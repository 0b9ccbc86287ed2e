"""`python -m bench.sentry_cpu`: Sentry's CPU per message in alternating rounds, one process per setting."""
from __future__ import annotations

import pytest

from bench.sentry_cpu import SentryCpu, measure, report, setting_name
from tests.conftest import pg_server_url, require_postgres


def test_the_report_gives_each_setting_its_ratio_to_sentry_off() -> None:
    result = SentryCpu({"off": 400, "0.1": 400, "1": 400}, {"off": 2.0, "0.1": 2.2, "1": 2.7},
                       {"off": [1.9, 2.1], "0.1": [2.1, 2.3], "1": [2.6, 2.8]})
    assert result.ratio("0.1") == pytest.approx(1.1) and result.ratio("1") == pytest.approx(1.35)
    table = report(result)
    assert "| 0.1 | 2.20 | 1.100 | 2.20 (2.10–2.30) |" in table
    assert "| 1 | 2.70 | 1.350 |" in table
    assert [setting_name(rate) for rate in (None, 0.1, 1.0)] == ["off", "0.1", "1"]


@pytest.mark.slow
def test_every_setting_runs_its_rounds_in_its_own_process(redis_server_url: str) -> None:
    server_url = pg_server_url()
    require_postgres(server_url)
    result = measure(server_url, redis_server_url, warmup=5, rounds=2, round_messages=10)
    assert result.messages == {"off": 20, "0.1": 20, "1": 20}
    assert all(len(rounds) == 2 for rounds in result.rounds_ms.values())
    assert all(cpu > 0 for cpu in result.cpu_ms_per_message.values())
