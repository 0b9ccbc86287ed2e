"""Scaling out: two instances of the web service on one PostgreSQL and one Redis, behind a proxy
that spreads requests over both, keep exactly-once and each lead's order."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench.environment import service_env
from bench.server import GunicornServer
from tests.reliability.harness import LoadDriver, audit, build_plan, require_services, running_service, scale
from tests.reverse_proxy import reverse_proxy

LEADS = 300
DUPLICATES = 600  # a third of the messages arrive twice: concurrent copies land on different instances
BURST_SHARE = 0.25
CONNECTIONS = 32
TIME_LIMIT_S = 300


@pytest.mark.slow
def test_two_instances_on_one_database_answer_every_message_once_and_in_order(
        tmp_path: Path, chaos_figures: list[str]) -> None:
    require_services()
    plan = build_plan(scale(LEADS), scale(DUPLICATES), BURST_SHARE, seed=21)
    with running_service(tmp_path / "a", workers=2, threads=4) as first:
        env = {**service_env(first.database_url, first.redis.url), "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "4"}
        with GunicornServer("app:app", env, tmp_path / "b-gunicorn.log") as second:
            proxy = reverse_proxy([first.url, second.url]).start()
            try:
                result = LoadDriver(proxy.url, plan, CONNECTIONS).run(timeout_s=TIME_LIMIT_S)
            finally:
                proxy.stop()
            served = {"a": _requests_served(first.log_path), "b": _requests_served(second.log_path)}
        report = audit(first.database_url, plan, result)
    chaos_figures.append(report.summary("two instances") + f" served_a={served['a']} served_b={served['b']}")
    assert not report.violations, report.violations
    # Both instances really took their share, concurrent copies of one message included.
    assert min(served.values()) >= plan.deliveries * 0.4, served
    assert result.overlapping_copies() >= plan.count("concurrent_duplicate") * 0.9
    assert report.figures["in_order_leads"] >= report.figures["sequential_leads"]


def _requests_served(log_path: Path) -> int:
    """WhatsApp webhooks an instance answered, from its access log."""
    return log_path.read_text(encoding="utf-8", errors="replace").count('"POST /twilio/whatsapp HTTP/1.1"')
