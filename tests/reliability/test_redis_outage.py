"""Redis stopped in the middle of the load and started again: answers continue, the Redis path comes back."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from tests.reliability.harness import LoadDriver, audit, build_plan, require_services, running_service, scale

LEADS = 300
DUPLICATES = 300  # 3,000 requests
BURST_SHARE = 0.25
CONNECTIONS = 32
STOP_AFTER_ACKED = 800
ACKED_DURING_OUTAGE = 600  # the outage lasts until this many copies sent during it were answered (fallback path)
OUTAGE_LIMIT_S = 120.0
RECOVERY_LIMIT_S = 10.0
CACHE_GRACE_S = 1.0  # messages first sent this long after the restart must find Redis working
TIME_LIMIT_S = 300


def reply_keys(client: redis.Redis) -> set[str]:
    """MessageSids with a cached reply in Redis right now."""
    return {key.decode().removeprefix("sdr:reply:") for key in client.scan_iter(match="sdr:reply:*", count=1000)}


@pytest.mark.slow
def test_redis_outage_mid_load_loses_and_duplicates_nothing_and_the_redis_path_resumes(
        tmp_path: Path, chaos_figures: list[str]) -> None:
    require_services()
    plan = build_plan(scale(LEADS), scale(DUPLICATES), BURST_SHARE, seed=11, run=2)
    with running_service(tmp_path) as service:
        redis = service.redis
        driver = LoadDriver(service.url, plan, CONNECTIONS).start()
        driver.wait_for_acked(scale(STOP_AFTER_ACKED))
        redis.stop()
        stopped_at = time.monotonic()
        while driver.acked_since(stopped_at) < scale(ACKED_DURING_OUTAGE):
            assert time.monotonic() - stopped_at < OUTAGE_LIMIT_S, "answers stopped while Redis was down"
            time.sleep(0.05)
        redis.start()
        restarted_at = time.monotonic()
        client = redis.client()
        # Redis came back empty (no persistence): any reply key now was written after the restart.
        while not reply_keys(client) and time.monotonic() - restarted_at < RECOVERY_LIMIT_S:
            time.sleep(0.02)
        recovery_s = time.monotonic() - restarted_at
        result = driver.join(timeout_s=TIME_LIMIT_S)
        cached = reply_keys(client)
        client.close()
        report = audit(service.database_url, plan, result)
    during_outage = result.acked_between(stopped_at, restarted_at)
    first_sent: dict[str, float] = {}
    for attempt in result.attempts:
        first_sent[attempt.sid] = min(first_sent.get(attempt.sid, attempt.started), attempt.started)
    after = [sid for sid, started in first_sent.items() if started > restarted_at + CACHE_GRACE_S]
    cached_after = sum(sid in cached for sid in after)
    chaos_figures.append(report.summary("redis outage") + f" outage_s={restarted_at - stopped_at:.1f}"
                         f" acked_during_outage={len(during_outage)} recovery_s={recovery_s:.2f}"
                         f" cached_after_restart={cached_after}/{len(after)}")
    assert not report.violations, report.violations
    assert len(during_outage) >= scale(ACKED_DURING_OUTAGE), "answers must continue while Redis is down"
    assert recovery_s < RECOVERY_LIMIT_S, "the reply cache must be written again after Redis restarts"
    assert after and cached_after == len(after), "every message sent after the restart must use the Redis path"
