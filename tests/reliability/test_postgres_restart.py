"""PostgreSQL restarted under load: 503 + Retry-After fast during the outage, /healthz says so, workers recover alone."""
from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from sdr_agent import RETRY_AFTER_SECONDS
from sdr_agent.database import engine_options
from tests.conftest import unavailable
from tests.reliability.harness import LoadDriver, audit, build_plan, require_services, running_service, scale
from tests.reliability.postgres_instance import PostgresInstance

pytestmark = pytest.mark.slow

DOWN_S = 3.0
# A webhook during the outage waits at most for one connection attempt (connect_timeout); the margin
# covers a loaded 2-core machine. Blocking on the pool (pool_timeout) or on Twilio's 15 s would exceed it.
CONNECT_TIMEOUT_S = float(engine_options("postgresql://")["connect_args"]["connect_timeout"])
FAIL_FAST_S = CONNECT_TIMEOUT_S + 1.0
RECOVERY_BOUND_S = 5.0  # from PostgreSQL accepting connections again to the service answering 200 everywhere
HEALTH_PERIOD_S = 0.1


@dataclass(frozen=True)
class Probe:
    """One GET /healthz."""

    started: float
    ended: float
    status: int | None
    body: dict[str, str]


class HealthProber:
    """Polls /healthz in the background, recording every answer with its timing."""

    def __init__(self, base_url: str) -> None:
        self.url = f"{base_url}/healthz"
        self.probes: list[Probe] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="healthz-probe", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            status, body = None, {}
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:
                    status, body = response.status, json.loads(response.read())
            except urllib.error.HTTPError as error:
                status, body = error.code, json.loads(error.read() or b"{}")
            except OSError:
                pass
            self.probes.append(Probe(started, time.monotonic(), status, body))
            self._stop.wait(HEALTH_PERIOD_S)

    def between(self, start: float, end: float) -> list[Probe]:
        """Probes that started and ended inside [start, end]."""
        return [probe for probe in self.probes if probe.started >= start and probe.ended <= end]

    def __enter__(self) -> "HealthProber":
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


@pytest.fixture
def private_postgres() -> Iterator[PostgresInstance]:
    """A PostgreSQL server of this test alone: restarting it disturbs nobody."""
    require_services()
    try:
        instance = PostgresInstance()
    except FileNotFoundError as exc:
        unavailable("PostgreSQL server binaries", str(exc))
    with instance:
        yield instance


# fast: a restart for maintenance (sessions told to end); immediate: a crash, with recovery on start.
@pytest.mark.parametrize("stop_mode", ["fast", "immediate"])
def test_postgres_restart_under_load_fails_fast_with_503_and_recovers_without_restarts(
        stop_mode: str, private_postgres: PostgresInstance, tmp_path: Path, chaos_figures: list[str]) -> None:
    plan = build_plan(leads=scale(60), duplicates=scale(60), burst_share=0.1)
    with running_service(tmp_path, workers=2, threads=4, database_server_url=private_postgres.url) as service:
        workers_before = sorted(service.worker_pids())
        with HealthProber(service.url) as health:
            driver = LoadDriver(service.url, plan, connections=12).start()
            driver.wait_for_acked(len(plan.messages) // 3)
            outage_start = time.monotonic()
            private_postgres.stop(stop_mode)
            stopped = time.monotonic()
            time.sleep(DOWN_S)
            starting = time.monotonic()  # PostgreSQL may accept connections before start() returns
            private_postgres.start()
            outage_end = time.monotonic()
            result = driver.join(timeout_s=240)
            # Long enough after the restart to see /healthz settle, however fast the load finished.
            time.sleep(max(outage_end + RECOVERY_BOUND_S + 1.0 - time.monotonic(), 3 * HEALTH_PERIOD_S))
        workers_after = sorted(service.worker_pids())
        report = audit(service.database_url, plan, result, allowed_5xx=result.server_errors)

    failed = [attempt for attempt in result.attempts if not attempt.acked]
    during = [attempt for attempt in failed if attempt.started >= stopped and attempt.ended <= starting]
    first_ok = min((a.ended for a in result.attempts if a.acked and a.started >= outage_end), default=float("inf"))
    latencies = sorted(attempt.ended - attempt.started for attempt in during)
    report.figures.update({
        "outage_s": round(outage_end - outage_start, 1),
        "http_503": sum(attempt.status == 503 for attempt in result.attempts),
        "503_median_ms": round(statistics.median(latencies) * 1000) if latencies else -1,
        "503_max_ms": round(latencies[-1] * 1000) if latencies else -1,
        "recovery_s": round(first_ok - outage_end, 2),
        "healthz_ok_after_s": round(min((p.ended for p in health.probes if p.started >= outage_end and p.status == 200),
                                        default=float("inf")) - outage_end, 2),
    })
    chaos_figures.append(report.summary(f"postgres restart ({stop_mode})"))

    assert not report.violations, report.violations
    # The outage really happened under load: requests arrived while nothing could be stored.
    assert len(during) >= 5, f"only {len(during)} requests during the outage"
    # Every failure is a 503 with Retry-After (what Twilio retries or routes to the fallback URL), never a 500.
    assert {a.status for a in failed} <= {503}, result.statuses
    assert all(a.retry_after == RETRY_AFTER_SECONDS for a in failed)
    # Nothing failed outside the outage (in flight at stop time counts): a pooled connection the restart
    # closed is replaced on checkout.
    assert all(a.ended >= outage_start and a.started <= outage_end for a in failed)
    assert latencies[-1] < FAIL_FAST_S, f"slowest 503 took {latencies[-1]:.2f}s"
    assert first_ok - outage_end < RECOVERY_BOUND_S
    # /healthz: 503 with db=error while PostgreSQL was down, 200 with db=ok before and after.
    down_probes = health.between(stopped, starting)
    assert down_probes and all(p.status == 503 and p.body.get("db") == "error" for p in down_probes), down_probes
    before = [p for p in health.probes if p.ended <= outage_start]
    assert before and all(p.status == 200 and p.body.get("db") == "ok" for p in before), before[:3]
    after = [p for p in health.probes if p.started >= outage_end + RECOVERY_BOUND_S]
    assert after and all(p.status == 200 and p.body.get("db") == "ok" for p in after), after[:3]
    # Recovery without restarts: the same worker processes served before and after.
    assert workers_after == workers_before
