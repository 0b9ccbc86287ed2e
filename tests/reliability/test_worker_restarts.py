"""A gunicorn worker killed mid-request, and graceful restarts (SIGHUP) under load: nothing acked is lost."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reliability.harness import LoadDriver, audit, build_plan, require_services, running_service, scale

LEADS = 200
DUPLICATES = 200  # 2,000 requests per scenario
BURST_SHARE = 0.25
CONNECTIONS = 32
FAULTS_AT_ACKED = (500, 1200)  # two faults per scenario, well inside the load
TIME_LIMIT_S = 300


@pytest.mark.slow
def test_a_worker_killed_mid_request_loses_no_acknowledged_message(tmp_path: Path, chaos_figures: list[str]) -> None:
    require_services()
    plan = build_plan(scale(LEADS), scale(DUPLICATES), BURST_SHARE, seed=21, run=3)
    kills, respawn_s = [], []
    with running_service(tmp_path) as service:
        driver = LoadDriver(service.url, plan, CONNECTIONS).start()
        for acked in FAULTS_AT_ACKED:
            driver.wait_for_acked(scale(acked))
            victim = service.kill_worker()
            kills.append(time.monotonic())
            respawn_s.append(service.wait_for_workers(replaced={victim}))
        result = driver.join(timeout_s=TIME_LIMIT_S)
        report = audit(service.database_url, plan, result)
    cut_off = [len(result.failed_between(moment, moment)) for moment in kills]
    chaos_figures.append(report.summary("worker SIGKILL") + f" cut_off_requests={cut_off}"
                         f" respawn_s={max(respawn_s):.2f}")
    assert not report.violations, report.violations
    # The kills hit requests in flight, and the driver's retries got every one of them answered.
    assert all(count > 0 for count in cut_off), cut_off
    assert result.retries >= sum(cut_off)


@pytest.mark.slow
def test_graceful_restarts_under_load_lose_no_acknowledged_message(tmp_path: Path, chaos_figures: list[str]) -> None:
    require_services()
    plan = build_plan(scale(LEADS), scale(DUPLICATES), BURST_SHARE, seed=31, run=4)
    restart_s = []
    with running_service(tmp_path) as service:
        driver = LoadDriver(service.url, plan, CONNECTIONS).start()
        for acked in FAULTS_AT_ACKED:
            driver.wait_for_acked(scale(acked))
            old_workers = set(service.worker_pids())
            service.reload()
            restart_s.append(service.wait_for_workers(replaced=old_workers))
        result = driver.join(timeout_s=TIME_LIMIT_S)
        report = audit(service.database_url, plan, result)
    chaos_figures.append(report.summary("SIGHUP") + f" restart_s={max(restart_s):.2f}")
    assert not report.violations, report.violations
    assert len(restart_s) == len(FAULTS_AT_ACKED)
