"""The issue's targets, judged on one run's results."""
from __future__ import annotations

from dataclasses import dataclass

from .run import REFERENCE_LABEL, SLOW_MODEL_CONCURRENCY, LoadRun, Results, sentry_label

# Against the lean reference of the same job on the same stack (bench/reference_app.py), measured in
# the same alternating rounds; the bare-Flask floor stays in the report for reference only.
MIN_SERVICE_TO_REFERENCE = {None: 0.70, 0.1: 0.60}
MAX_P99_TO_REFERENCE = 2.0
MAX_CPU_RATIO_FULL_TRACING = 1.35
MAX_CPU_RATIO_SAMPLED = 1.10
MAX_SQL_PER_MESSAGE = 6
MAX_REDIS_PER_MESSAGE = 5
MAX_GROWN_LATENCY_RATIO = 1.2
MAX_RSS_MB = 150.0
MAX_RSS_GROWTH = 0.05
MAX_OVERVIEW_MS = 150.0
# With a model answering in 1.5 s: leads' replies within its latency + 1 s at p95; what needs no model
# (health checks, status callbacks, call openings) never waits behind it.
MAX_SLOW_MODEL_OVERHEAD_MS = 1000.0
MAX_BYSTANDER_P95_MS = 500.0


@dataclass(frozen=True)
class Verdict:
    """One target: what it asks, what was measured, whether it holds."""

    target: str
    measured: str
    met: bool


def judge(results: Results) -> list[Verdict]:
    """Every target the run can judge."""
    verdicts: list[Verdict] = []
    stack = results.stack
    if stack is not None:
        for rate, minimum in MIN_SERVICE_TO_REFERENCE.items():
            ratio = stack.ratio(sentry_label(rate))
            verdicts.append(Verdict(f"throughput, service {'Sentry off' if rate is None else f'Sentry {rate:g}'} ≥ "
                                    f"{minimum:.2f} × reference (alternating rounds)", f"{ratio:.2f} ×", ratio >= minimum))
        worst = max(stack.p99(sentry_label(rate)) for rate in MIN_SERVICE_TO_REFERENCE)
        limit = MAX_P99_TO_REFERENCE * stack.p99(REFERENCE_LABEL)
        verdicts.append(Verdict(f"p99 at {results.connections} connections ≤ {MAX_P99_TO_REFERENCE:g} × reference's "
                                "(alternating rounds, worst service side)",
                                f"{worst:.1f} ms against {limit:.1f} ms", worst <= limit))
    verdicts.extend(slow_model_verdicts(results))
    for rate, limit in ((1.0, MAX_CPU_RATIO_FULL_TRACING), (0.1, MAX_CPU_RATIO_SAMPLED)):
        cpu = cpu_ratio(results, rate)
        verdicts.append(Verdict(f"CPU/message, Sentry {rate:g} ≤ {limit:.2f} × off", f"{cpu:.3f} ×", cpu <= limit))
    services = [run for run in results.runs if not run.is_floor]
    errors = sum(run.load.errors for run in services) + (stack.errors if stack else 0)
    lost = sum(run.sent - run.stored for run in services)
    misordered = sum(run.finished_in_order - run.finished_at_final_stage for run in services)
    verdicts.append(Verdict("no errors, every message stored once, every finished lead (messages in order) at the final stage",
                            f"{errors} errors, {lost} missing, {misordered} off-stage", not (errors or lost or misordered)))
    counts = [results.counts_empty, results.counts_grown]
    mid_sql = [len(c.mid_flow.sql) for c in counts if c] + ([len(results.history.history_cost.sql)] if results.history else [])
    mid_redis = [len(c.mid_flow.redis) for c in counts if c] + ([len(results.history.history_cost.redis)] if results.history else [])
    verdicts.append(Verdict(f"mid-flow ≤ {MAX_SQL_PER_MESSAGE} SQL statements, same at every size",
                            " / ".join(map(str, mid_sql)), max(mid_sql) <= MAX_SQL_PER_MESSAGE and len(set(mid_sql)) == 1))
    verdicts.append(Verdict(f"mid-flow ≤ {MAX_REDIS_PER_MESSAGE} Redis commands, same at every size",
                            " / ".join(map(str, mid_redis)),
                            max(mid_redis) <= MAX_REDIS_PER_MESSAGE and len(set(mid_redis)) == 1))
    if results.growth:
        # Judged on the alternating rounds: the two load runs are minutes apart and carry the machine's drift.
        growth = results.growth
        p50_ratio, p99_ratio = growth.ratio("p50_ms"), growth.ratio("p99_ms")
        verdicts.append(Verdict(f"latency with 100k leads / 1M messages ≤ {MAX_GROWN_LATENCY_RATIO} × empty "
                                "(alternating rounds, no errors)",
                                f"p50 {p50_ratio:.2f} ×, p99 {p99_ratio:.2f} ×, {growth.errors} errors",
                                max(p50_ratio, p99_ratio) <= MAX_GROWN_LATENCY_RATIO and not growth.errors))
    if results.history:
        verdicts.append(Verdict(f"latency with {results.plan.history_messages:,} messages of history ≤ "
                                f"{MAX_GROWN_LATENCY_RATIO} × a fresh lead", f"{results.history.ratio:.2f} ×",
                                results.history.ratio <= MAX_GROWN_LATENCY_RATIO))
    if results.overview_seeded:
        overview_ms = results.overview_seeded.median_ms
        verdicts.append(Verdict(f"dashboard overview with {results.plan.seed_leads:,} leads ≤ {MAX_OVERVIEW_MS:.0f} ms",
                                f"{overview_ms:.1f} ms", overview_ms <= MAX_OVERVIEW_MS))
    rss_max = max(max(run.rss_at_end) for run in services)
    verdicts.append(Verdict(f"worker RSS ≤ {MAX_RSS_MB:.0f} MB", f"max {rss_max:.0f} MB", rss_max <= MAX_RSS_MB))
    growth = max(rss_growth(run) for run in services)
    verdicts.append(Verdict(f"RSS growth {results.plan.checkpoint:,} → {results.plan.messages:,} messages < "
                            f"{MAX_RSS_GROWTH:.0%}", f"worst {growth:+.1%}", growth < MAX_RSS_GROWTH))
    return verdicts


def slow_model_verdicts(results: Results) -> list[Verdict]:
    """The slow-model targets, judged on the run with the default settings."""
    if not results.slow_model:
        return []
    run = results.slow_model[0]
    limit = run.model_delay_ms + MAX_SLOW_MODEL_OVERHEAD_MS
    moved = run.at_next_stage == run.leads and not run.replies.errors
    bystanders = {"/healthz": run.health, "status callbacks": run.status_callbacks, "call openings": run.voice}
    worst_name, worst = max(bystanders.items(), key=lambda item: item[1].p95)
    errors = sum(latencies.errors for latencies in bystanders.values())
    return [
        Verdict(f"model at {run.model_delay_ms / 1000:g} s, {run.leads} leads {SLOW_MODEL_CONCURRENCY} at a time: "
                f"reply p95 ≤ model + {MAX_SLOW_MODEL_OVERHEAD_MS / 1000:g} s, every lead answered and moved on",
                f"p95 {run.replies.p95:,.0f} ms against {limit:,.0f} ms; {run.replies.errors} errors, "
                f"{run.at_next_stage} / {run.leads} moved on", run.replies.p95 <= limit and moved),
        Verdict(f"meanwhile /healthz, status callbacks, call openings p95 ≤ {MAX_BYSTANDER_P95_MS:.0f} ms, no errors",
                f"worst {worst_name} p95 {worst.p95:,.0f} ms; {errors} errors",
                worst.p95 <= MAX_BYSTANDER_P95_MS and not errors),
    ]


def cpu_ratio(results: Results, rate: float) -> float:
    """Worker CPU per message at this tracing rate / Sentry off: from the alternating rounds when the run has them."""
    if results.sentry_cost is not None:
        return results.sentry_cost.ratio(rate)
    return results.run(sentry_label(rate)).cpu_ms_per_message / results.run(sentry_label(None)).cpu_ms_per_message


def rss_growth(run: LoadRun) -> float:
    """Largest relative RSS growth of one worker between the checkpoint and the end."""
    return max((after - before) / before for before, after in zip(run.rss_at_checkpoint, run.rss_at_end))
