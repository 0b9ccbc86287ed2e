"""Load with chaos: 20,000 signed messages from 2,000 leads at 32 connections, duplicates and bursts."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.reliability.harness import LoadDriver, audit, build_plan, require_services, running_service, scale

LEADS = 2000
DUPLICATES = 2000  # 18,000 distinct messages (9 per lead) + 2,000 copies = 20,000 requests, 10 % duplicates
BURST_SHARE = 0.25  # a quarter of the leads type five answers within 100 ms
CONNECTIONS = 32
TIME_LIMIT_S = 600


@pytest.mark.slow
def test_twenty_thousand_messages_with_duplicates_and_bursts_keep_every_invariant(
        tmp_path: Path, chaos_figures: list[str]) -> None:
    require_services()
    plan = build_plan(scale(LEADS), scale(DUPLICATES), BURST_SHARE)
    with running_service(tmp_path) as service:
        cpu_before = time.process_time()
        result = LoadDriver(service.url, plan, CONNECTIONS).run(timeout_s=TIME_LIMIT_S)
        driver_cpu_s = time.process_time() - cpu_before
        report = audit(service.database_url, plan, result)
    overlapping = result.overlapping_copies()
    chaos_figures.append(report.summary("load with chaos") + f" overlapping_copies={overlapping}"
                         f" rps={len(result.attempts) / result.elapsed_s:.0f} driver_cpu_s={driver_cpu_s:.0f}")
    assert not report.violations, report.violations
    assert plan.deliveries == scale(LEADS) * 9 + scale(DUPLICATES)
    # The concurrent duplicates really raced: most pairs had both copies in flight at once.
    assert overlapping >= plan.count("concurrent_duplicate") * 0.9
    assert report.figures["in_order_leads"] >= report.figures["sequential_leads"]
