"""The benchmark harness in smoke mode: it runs end to end, and the counted costs meet the targets."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.plan import SMOKE
from bench.report import write_report
from bench.run import FLOOR_LABEL, REFERENCE_LABEL, Results, run_benchmark
from bench.targets import MAX_REDIS_PER_MESSAGE, MAX_SQL_PER_MESSAGE, judge
from tests.conftest import pg_server_url, require_postgres, unavailable


@pytest.fixture(scope="module")
def smoke(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Results:
    """One smoke run of the harness: a few hundred requests per app, a small seeded database."""
    if shutil.which("wrk") is None:
        unavailable("wrk", "not installed (apt-get install -y wrk)")
    server_url = pg_server_url()
    require_postgres(server_url)
    return run_benchmark(SMOKE, server_url, redis_server_url, "pytest tests/test_bench_smoke.py",
                         workdir=tmp_path_factory.mktemp("bench"))


@pytest.mark.slow
def test_a_mid_flow_message_meets_the_counter_targets_at_every_size(smoke: Results) -> None:
    assert smoke.counts_empty and smoke.counts_grown and smoke.history
    mid_flow = [smoke.counts_empty.mid_flow, smoke.counts_grown.mid_flow, smoke.history.history_cost]
    for cost in mid_flow:
        assert len(cost.sql) <= MAX_SQL_PER_MESSAGE, cost.sql
        assert len(cost.redis) <= MAX_REDIS_PER_MESSAGE, cost.redis
    assert len(set(mid_flow)) == 1, "the cost must not depend on the number of leads or the lead's history"
    assert smoke.counts_empty.new_lead == smoke.counts_grown.new_lead


@pytest.mark.slow
def test_every_app_answered_every_request_and_every_lead_advanced_in_order(smoke: Results) -> None:
    assert [run.label for run in smoke.runs][0] == FLOOR_LABEL
    for run in smoke.runs:
        assert run.load.errors == 0, run.label
        assert run.load.requests > 0 and run.load.throughput > 0, run.label
    for run in smoke.runs[1:]:
        assert run.stored == run.sent, run.label
        # Leads the load tool delivered out of order are left out; most are delivered in order.
        assert run.finished_in_order >= run.finished_leads * 0.8, run.label
        assert run.finished_in_order > 0 and run.finished_at_final_stage == run.finished_in_order, run.label
    assert smoke.final_stage == "qualified"


@pytest.mark.slow
def test_the_dashboard_overview_is_timed_on_the_empty_the_grown_and_a_seeded_only_database(smoke: Results) -> None:
    assert smoke.overview_empty and smoke.overview_grown and smoke.overview_seeded
    assert len(smoke.overview_grown.samples_ms) == len(smoke.overview_seeded.samples_ms) == SMOKE.overview_rounds
    assert all(sample > 0 for sample in smoke.overview_empty.samples_ms + smoke.overview_grown.samples_ms
               + smoke.overview_seeded.samples_ms)
    assert any("dashboard overview with" in verdict.target for verdict in judge(smoke))


@pytest.mark.slow
def test_floor_reference_and_service_are_driven_in_alternating_rounds(smoke: Results) -> None:
    stack = smoke.stack
    assert stack is not None
    assert list(stack.sides) == [FLOOR_LABEL, REFERENCE_LABEL, "service, Sentry off", "service, Sentry traces 0.1"]
    for label, rounds in stack.sides.items():
        assert len(rounds) == SMOKE.stack_rounds, label
        assert all(result.requests == SMOKE.stack_round_messages and result.errors == 0 for result in rounds), label
    # The reference does real work (signature, Redis, PostgreSQL), so it is slower than the bare floor.
    assert stack.throughput(REFERENCE_LABEL) < stack.throughput(FLOOR_LABEL)
    targets = [verdict.target for verdict in judge(smoke)]
    assert any("× reference" in target for target in targets) and not any("× floor" in target for target in targets)


@pytest.mark.slow
def test_a_slow_model_is_waited_on_by_every_lead_at_once_and_nothing_else_waits(smoke: Results) -> None:
    [run] = smoke.slow_model
    assert run.label == "defaults" and run.leads == SMOKE.slow_model_leads
    assert run.replies.errors == 0 and len(run.replies.samples) == run.leads
    assert run.model_requests == run.leads and run.at_next_stage == run.leads
    # More leads waited on the model at once than the old default's 2 × 16 threads could hold: neither the
    # threads nor the database pool (5 + 5 per worker) capped them.
    assert run.model_peak_in_flight > 32
    assert all(latencies.samples and not latencies.errors
               for latencies in (run.health, run.status_callbacks, run.voice))
    assert any("reply p95" in verdict.target for verdict in judge(smoke))


@pytest.mark.slow
def test_sentry_runs_send_sampled_transactions_to_the_sink(smoke: Results) -> None:
    by_rate = {run.sentry_rate: run for run in smoke.runs if run.transactions_at_sink is not None}
    assert set(by_rate) == {0.1, 1.0}
    # Not every trace arrives: the SDK drops what overflows its transport queue under load.
    assert 0 < by_rate[0.1].transactions_at_sink < by_rate[1.0].transactions_at_sink <= by_rate[1.0].sent


@pytest.mark.slow
def test_sentry_cost_is_measured_in_alternating_rounds_for_every_setting(smoke: Results) -> None:
    cost = smoke.sentry_cost
    assert cost is not None and cost.rounds == SMOKE.cost_rounds
    assert set(cost.messages) == set(SMOKE.sentry_rates)
    assert all(sent == SMOKE.cost_rounds * SMOKE.cost_round_messages for sent in cost.messages.values())
    assert all(cpu > 0 for cpu in cost.cpu_ms_per_message.values())


@pytest.mark.slow
def test_the_empty_and_the_grown_database_are_compared_in_alternating_rounds(smoke: Results) -> None:
    growth = smoke.growth
    assert growth is not None
    assert len(growth.empty) == len(growth.grown) == SMOKE.growth_rounds
    for result in growth.empty + growth.grown:
        assert result.requests == SMOKE.growth_round_messages and result.errors == 0
    assert growth.ratio("p50_ms") > 0 and growth.ratio("p99_ms") > 0


@pytest.mark.slow
def test_the_report_holds_every_table_and_keeps_a_history(smoke: Results, tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    write_report(smoke, report)
    write_report(smoke, report)
    document = report.read_text(encoding="utf-8")
    assert "dashboard overview page" in document and "alternating rounds of" in document
    for heading in ("### Targets", "### Floor, reference and service", "### Throughput and latency",
                    "### Slow model", "### Sentry cost", "### Cost per message",
                    "### Growth", "### Memory"):
        assert document.count(heading) == 1, heading
    assert document.count(f"`{smoke.commit}`") >= 3  # the latest run, plus two history lines
