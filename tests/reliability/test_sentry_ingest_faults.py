"""Sentry's ingest down, slow, answering 500 or 429, at traces 1.0: webhooks unaffected, memory bounded.

Three services get the same load per phase, after a warm-up phase: Sentry off; a DSN nobody listens
on (down); and a DSN on one local ingest that answers healthy, then 500, then slowly (5 s), then 429 —
one phase each, in that order, because a 429 silences the SDK for its Retry-After. Phases drive
distinct leads of one plan, so one audit of the service's database covers them all.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.reliability.faulty_sentry import (DOWN, ERROR_500, HEALTHY, RATE_LIMITED_429, SLOW, closed_port_dsn,
                                             misbehave)
from tests.reliability.harness import (Audit, DriveResult, LoadDriver, Plan, Service, audit, build_plan,
                                       require_services, running_service, scale)
from tests.sentry_sink import SentrySink

pytestmark = pytest.mark.slow

WORKERS = 2
# Each service's first phase loads code and fills caches; it is driven and audited, not compared.
WARMUP = "warmup"
CONNECTIONS = 12
SINK_PHASES = (HEALTHY, ERROR_500, SLOW, RATE_LIMITED_429)
FAULTS = (DOWN, ERROR_500, SLOW, RATE_LIMITED_429)
# A request that waited for Sentry's transport would take seconds (5 s per upload to the slow ingest,
# or a 2 s flush): 10-100x Sentry off. Tracing every request costs about 2x on this 2-core machine and
# the shared machine's noise adds up to 2x more between runs, so the bound sits above both.
MAX_P50_RATIO_TO_OFF = 6.0
# Worker CPU per request depends less on the machine's load: a faulty ingest must not cost much more
# than a healthy one (an SDK retrying or looping on errors would).
MAX_CPU_RATIO_TO_HEALTHY = 2.0
MAX_RSS_GROWTH_MB = 25.0  # per worker, from a quarter of a phase's load to its end
# Longer than one upload to the slow ingest (5 s), so a sender blocked on it is free again.
SLOW_INGEST_WAIT_S = 15.0
MAX_RATE_LIMITED_UPLOADS_PER_WORKER = 3  # after a 429 the SDK stays quiet for Retry-After seconds


@dataclass(frozen=True)
class Phase:
    """One phase's load against one Sentry setup, and what it cost."""

    label: str
    result: DriveResult
    p50_ms: float
    p95_ms: float
    cpu_ms_per_request: float
    rss_growth_mb: float
    uploads: int
    transactions: int

    @property
    def failures(self) -> int:
        """Attempts answered with a 5xx or not answered at all."""
        return self.result.server_errors + self.result.connection_errors

    def ratios(self, baseline: "Phase") -> dict[str, float]:
        """Wall time, latency percentiles and CPU per request relative to the baseline (1.0 = the same)."""
        return {"wall": self.result.elapsed_s / baseline.result.elapsed_s, "p50": self.p50_ms / baseline.p50_ms,
                "p95": self.p95_ms / baseline.p95_ms, "cpu": self.cpu_ms_per_request / baseline.cpu_ms_per_request}

    def summary(self) -> str:
        """The phase's figures on one line."""
        return (f"requests={len(self.result.attempts)} failures={self.failures} wall_s={self.result.elapsed_s:.1f} "
                f"p50_ms={self.p50_ms:.0f} p95_ms={self.p95_ms:.0f} cpu_ms_per_request={self.cpu_ms_per_request:.1f} "
                f"rss_growth_mb={self.rss_growth_mb:.1f} uploads={self.uploads} transactions={self.transactions}")


@dataclass(frozen=True)
class Run:
    """One service's phases and the audit of its database."""

    phases: dict[str, Phase]
    report: Audit


@dataclass(frozen=True)
class Runs:
    """Every compared phase by label, and each service's audit line."""

    phases: dict[str, Phase]
    audits: list[str]

    def line(self, label: str) -> str:
        """One phase's figures with its ratios to Sentry off and to a healthy ingest."""
        phase = self.phases[label]
        ratios = [f"{name}_x_off={value:.2f}" for name, value in phase.ratios(self.phases["off"]).items()]
        ratios += [f"{name}_x_healthy={value:.2f}" for name, value in phase.ratios(self.phases[HEALTHY]).items()]
        return f"[sentry {label}] {phase.summary()} {' '.join(ratios)}"


def split(plan: Plan, parts: int) -> list[Plan]:
    """The plan's leads in `parts` consecutive blocks, each a plan a driver can run on its own."""
    size = len(plan.leads) // parts
    return [Plan(run=plan.run, messages=plan.messages, burst_leads=plan.burst_leads,
                 leads=[jobs if part * size <= lead < (part + 1) * size else [] for lead, jobs in enumerate(plan.leads)])
            for part in range(parts)]


def drive(service: Service, label: str, plan: Plan, sink: SentrySink | None) -> Phase:
    """Run one phase's load and measure latency, worker CPU, worker memory and what reached the ingest."""
    uploads_before = sink.request_count if sink is not None else 0
    transactions_before = sink.item_counts().get("transaction", 0) if sink is not None else 0
    cpu_start = service.server.worker_cpu_seconds()
    driver = LoadDriver(service.url, plan, connections=CONNECTIONS).start()
    requests = sum(len(job.sends) for jobs in plan.leads for job in jobs)
    # Past the first requests, which load code and fill caches: what follows must not keep growing.
    driver.wait_for_acked(requests // 4)
    rss_start = service.server.worker_rss_mb()
    result = driver.join(timeout_s=180)
    rss_end = service.server.worker_rss_mb()
    cpu_s = service.server.worker_cpu_seconds() - cpu_start
    if sink is not None and label in (WARMUP, HEALTHY):
        # Uploads are asynchronous: give the last transactions a moment to arrive.
        messages = len({attempt.sid for attempt in result.attempts})
        sink.wait_for(lambda: sink.item_counts().get("transaction", 0) - transactions_before >= messages, timeout=10)
    elif sink is not None:
        # A phase can be over (about a second at this size) while each worker's sender still waits on
        # the slow ingest of the phase before (5 s per upload): its first upload goes out once the
        # sender is free, and meets this phase's behaviour. Measured above, before this wait.
        sink.wait_for(lambda: sink.request_count > uploads_before, timeout=SLOW_INGEST_WAIT_S)
    latencies = sorted((a.ended - a.started) * 1000 for a in result.attempts if a.acked and a.number == 1)
    return Phase(
        label=label,
        result=result,
        p50_ms=statistics.median(latencies),
        p95_ms=latencies[int(len(latencies) * 0.95)],
        cpu_ms_per_request=cpu_s * 1000 / len(result.attempts),
        rss_growth_mb=max(end - start for start, end in zip(rss_start, rss_end)),
        uploads=(sink.request_count - uploads_before) if sink is not None else 0,
        transactions=(sink.item_counts().get("transaction", 0) - transactions_before) if sink is not None else 0,
    )


def run_service(workdir: Path, dsn: str, labels: tuple[str, ...],
                before_phase: Callable[[str], None] = lambda _label: None, sink: SentrySink | None = None) -> Run:
    """One service with this DSN (empty = Sentry off) at traces 1.0, a warm-up then one phase per label, one audit."""
    labels = (WARMUP, *labels)
    plan = build_plan(leads=scale(20) * len(labels), duplicates=scale(12) * len(labels), burst_share=0.1)
    env = {"SENTRY_DSN": dsn, "SENTRY_TRACES_SAMPLE_RATE": "1.0"}
    phases: dict[str, Phase] = {}
    with running_service(workdir, workers=WORKERS, threads=4, extra_env=env) as service:
        workers = sorted(service.worker_pids())
        for label, part in zip(labels, split(plan, len(labels))):
            before_phase(label)
            phases[label] = drive(service, label, part, sink)
        merged = DriveResult(
            attempts=[a for phase in phases.values() for a in phase.result.attempts],
            abandoned=[sid for phase in phases.values() for sid in phase.result.abandoned],
            started=min(phase.result.started for phase in phases.values()),
            ended=max(phase.result.ended for phase in phases.values()),
        )
        report = audit(service.database_url, plan, merged)
        assert sorted(service.worker_pids()) == workers, "a worker was replaced during the run"
    log = service.log_path.read_text(encoding="utf-8", errors="replace")
    assert "WORKER TIMEOUT" not in log and "Traceback" not in log, log[-2000:]
    # A faulty ingest leaves no line per upload in the service's log (urllib3 used to log its retries).
    assert "urllib3" not in log, log[-2000:]
    del phases[WARMUP]
    return Run(phases, report)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """Every phase of the three services; the invariants of each service's run hold."""
    require_services()
    off = run_service(tmp_path_factory.mktemp("sentry-off"), "", ("off",))
    down = run_service(tmp_path_factory.mktemp("sentry-down"), closed_port_dsn(), (DOWN,))
    sink = SentrySink(keep=False).start()
    try:
        faulty = run_service(tmp_path_factory.mktemp("sentry-ingest"), sink.dsn(), SINK_PHASES,
                             lambda label: misbehave(sink, HEALTHY if label == WARMUP else label), sink)
    finally:
        sink.stop()
    for run in (off, down, faulty):
        assert not run.report.violations, run.report.violations
    audits = [run.report.summary("sentry " + "+".join(run.phases)) for run in (off, down, faulty)]
    return Runs({**off.phases, **down.phases, **faulty.phases}, audits)


def check(phase: Phase, off: Phase, healthy: Phase) -> None:
    """Nothing failed, memory stayed put, and no request waited for Sentry."""
    assert phase.failures == 0, phase.result.statuses
    assert phase.rss_growth_mb < MAX_RSS_GROWTH_MB, phase.summary()
    assert phase.ratios(off)["p50"] < MAX_P50_RATIO_TO_OFF, phase.ratios(off)
    assert phase.ratios(healthy)["cpu"] < MAX_CPU_RATIO_TO_HEALTHY, phase.ratios(healthy)


def test_a_healthy_ingest_receives_every_transaction(runs: Runs, chaos_figures: list[str]) -> None:
    chaos_figures.extend([*runs.audits, runs.line("off"), runs.line(HEALTHY)])
    healthy = runs.phases[HEALTHY]
    check(healthy, runs.phases["off"], healthy)
    # Proof that the DSN and the sample rate reach the workers: the faulty phases use the same wiring.
    assert healthy.transactions >= len({attempt.sid for attempt in healthy.result.attempts})


@pytest.mark.parametrize("fault", FAULTS)
def test_a_faulty_ingest_does_not_slow_or_break_webhooks(fault: str, runs: Runs, chaos_figures: list[str]) -> None:
    chaos_figures.append(runs.line(fault))
    phase = runs.phases[fault]
    check(phase, runs.phases["off"], runs.phases[HEALTHY])
    if fault == DOWN:
        return
    # The SDK really was talking to the faulty ingest (a phase that never reached it would prove nothing).
    assert phase.uploads >= 1
    if fault == RATE_LIMITED_429:
        assert phase.uploads <= MAX_RATE_LIMITED_UPLOADS_PER_WORKER * WORKERS
