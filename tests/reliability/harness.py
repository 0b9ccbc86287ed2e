"""Reliability harness: the real service under gunicorn, a Twilio-like load driver, and the invariants.

Usage (see tests/reliability/test_load_chaos.py for a complete scenario)::

    from tests.reliability.harness import LoadDriver, audit, build_plan, require_services, running_service

    def test_something(tmp_path):
        require_services()                      # fails in CI, skips locally, when PostgreSQL/redis/gunicorn are missing
        plan = build_plan(leads=200, duplicates=200, burst_share=0.2)
        with running_service(tmp_path, workers=3, threads=4) as service:
            driver = LoadDriver(service.url, plan, connections=32).start()
            driver.wait_for_acked(500)          # mid-load: inject a fault here
            service.redis.stop(); ...; service.redis.start()   # or service.kill_worker(), service.reload()
            result = driver.join(timeout_s=300)
            report = audit(service.database_url, plan, result)
        print(report.summary("my scenario"))    # shown with -rA / -s
        assert not report.violations, report.violations

Parts: `running_service` (service.py) gives a throwaway migrated PostgreSQL database on TEST_DATABASE_URL's
server, a private redis-server (redis_server.py; stop()/start() keep its port) and gunicorn started from
gunicorn.conf.py with WEB_CONCURRENCY/GUNICORN_THREADS set; `extra_env` adds settings (e.g. SENTRY_DSN).
`build_plan` (workload.py) pre-signs every lead's script, with concurrent and late duplicates and bursts of
five messages within 100 ms. `LoadDriver` (driver.py) records every attempt and retries what got no 2xx
(same MessageSid, same signature). `audit` (invariants.py) reads the tables and lists what is wrong,
with the run's figures; its docstring says exactly what each invariant means.
"""
from __future__ import annotations

import importlib.util
import os

from tests.conftest import pg_server_url, require_postgres, unavailable
from tests.reliability.driver import Attempt, DriveResult, LoadDriver
from tests.reliability.invariants import Audit, audit, path_violations, script_path
from tests.reliability.redis_server import PrivateRedis, RedisBinaryMissing, redis_server_path
from tests.reliability.service import Service, running_service
from tests.reliability.workload import Delivery, Job, Plan, build_plan, signed_delivery

__all__ = [
    "Attempt", "Audit", "Delivery", "DriveResult", "Job", "LoadDriver", "Plan", "PrivateRedis", "Service",
    "audit", "build_plan", "path_violations", "require_services", "running_service", "scale", "script_path",
    "signed_delivery",
]


def require_services() -> None:
    """PostgreSQL reachable, redis-server and gunicorn installed; otherwise fail in CI (skip locally)."""
    try:
        redis_server_path()
    except RedisBinaryMissing as exc:
        unavailable("redis-server", str(exc))
    if importlib.util.find_spec("gunicorn") is None:
        unavailable("gunicorn", "not installed in this Python")
    require_postgres(pg_server_url())


def scale(default: int) -> int:
    """A count scaled by SDR_CHAOS_SCALE (e.g. 0.1 for a quick local try); never below 1."""
    return max(1, round(default * float(os.environ.get("SDR_CHAOS_SCALE", "1"))))
