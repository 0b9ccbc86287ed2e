"""One benchmark run: floor and service side by side, Sentry's cost, counters, growth, memory."""
from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, text

from sdr_agent import create_app
from sdr_agent.config import PROJECT_ROOT
from tests.sentry_sink import SentrySink

from .dashboard import OverviewTiming, time_overview
from .environment import (ADMIN_PASSWORD, AUTH_TOKEN, PUBLIC_BASE_URL, Machine, describe_machine, flushed_redis, service_env,
                          throwaway_database)
from .loadgen import CONNECTIONS, LoadResult, replay
from .plan import Plan
from .probe import Cost, HistoryComparison, Probe, compare_history, mid_flow_cost, new_lead_cost
from .seed import SeedResult, add_history, seed
from .server import GunicornServer, gunicorn_setting
from .slow_model import SlowModel, SlowModelRun, model_env, run_slow_model, scenario_log
from .workload import MID_FLOW_STEP, SCRIPT, Turn, completed_leads, phone_of, text_of, turns, write_requests

# Longer than the SDK's batch interval (5 s plus up to 1 s), so batched logs and metrics are sent.
COST_SETTLE_S = 7.0
PROBE_RUN = 0  # phone range of the in-process probes; load runs use 1, 2, …
PROBE_RATE_LIMIT = 1_000  # messages per window for the probes' leads (see Bench.__init__)


FLOOR_LABEL = "floor (bare Flask)"
REFERENCE_LABEL = "reference (lean, same stack)"
SLOW_MODEL_CONCURRENCY = 64  # leads writing at once in the slow-model scenario
GROWN_LABEL = "service, Sentry off, grown DB"


@dataclass(frozen=True)
class Counts:
    """Counted cost of a new lead's first message and of a mid-flow message."""

    new_lead: Cost
    mid_flow: Cost


@dataclass(frozen=True)
class SentryCost:
    """Worker CPU per message for each Sentry setting, from alternating rounds against services running side by side."""

    rounds: int
    messages: dict[float | None, int]
    cpu_ms_per_message: dict[float | None, float]

    def ratio(self, rate: float | None) -> float:
        """CPU per message at this tracing rate / with Sentry off."""
        return self.cpu_ms_per_message[rate] / self.cpu_ms_per_message[None]


@dataclass(frozen=True)
class GrowthComparison:
    """The service on an empty and on the grown database, side by side, from alternating rounds."""

    empty: list[LoadResult]
    grown: list[LoadResult]

    @staticmethod
    def median(rounds: list[LoadResult], percentile: str) -> float:
        """The median over rounds of one latency percentile ("p50_ms", "p99_ms")."""
        return statistics.median(getattr(result, percentile) for result in rounds)

    def ratio(self, percentile: str) -> float:
        """Grown / empty, each the median of its rounds."""
        return self.median(self.grown, percentile) / self.median(self.empty, percentile)

    @property
    def errors(self) -> int:
        """Errors in every round of both services."""
        return sum(result.errors for result in self.empty + self.grown)


@dataclass
class StackComparison:
    """Floor, lean reference and service (Sentry off and 0.1) side by side, from alternating rounds."""

    sides: dict[str, list[LoadResult]]

    def throughput(self, label: str) -> float:
        """Messages per second over every round of one side."""
        rounds = self.sides[label]
        return sum(result.requests for result in rounds) / sum(result.elapsed_s for result in rounds)

    def p99(self, label: str) -> float:
        """The median over rounds of one side's p99 latency."""
        return GrowthComparison.median(self.sides[label], "p99_ms")

    def ratio(self, label: str, to: str = REFERENCE_LABEL) -> float:
        """Throughput of one side over another's (by default the reference's)."""
        return self.throughput(label) / self.throughput(to)

    @property
    def errors(self) -> int:
        """Errors in every round of every side."""
        return sum(result.errors for rounds in self.sides.values() for result in rounds)


@dataclass
class LoadRun:
    """One app under load: the measured replay, its workers' CPU and memory, and correctness checks."""

    label: str
    database: str
    load: LoadResult
    cpu_ms_per_message: float
    rss_after_warmup: list[float]
    rss_at_checkpoint: list[float]
    rss_at_end: list[float]
    sentry_rate: float | None = None
    is_floor: bool = False
    sent: int = 0
    stored: int = 0
    finished_leads: int = 0
    finished_in_order: int = 0  # finished leads whose messages reached the service in script order
    finished_at_final_stage: int = 0  # of those, the ones at the flow's final stage
    transactions_at_sink: int | None = None


@dataclass
class Results:
    """Everything one run measured."""

    plan: Plan
    machine: Machine
    command: str
    commit: str
    started_at: datetime
    workers: int
    threads: int
    connections: int
    final_stage: str = ""
    counts_empty: Counts | None = None
    counts_grown: Counts | None = None
    history: HistoryComparison | None = None
    seeded: SeedResult | None = None
    overview_empty: OverviewTiming | None = None
    overview_grown: OverviewTiming | None = None
    overview_seeded: OverviewTiming | None = None  # a database holding only the seeded leads
    sentry_cost: SentryCost | None = None
    growth: GrowthComparison | None = None
    stack: StackComparison | None = None
    runs: list[LoadRun] = field(default_factory=list)
    slow_model: list[SlowModelRun] = field(default_factory=list)  # the defaults first, then the comparisons
    duration_s: float = 0.0

    def run(self, label: str) -> LoadRun:
        """The load run with this label."""
        return next(run for run in self.runs if run.label == label)


def sentry_label(rate: float | None) -> str:
    """Name of a service run by its tracing rate."""
    return "service, Sentry off" if rate is None else f"service, Sentry traces {rate:g}"




class Bench:
    """Runs the plan against one throwaway database and Redis database."""

    def __init__(self, plan: Plan, server_url: str, database_url: str, redis_url: str, workdir: Path,
                 results: Results) -> None:
        self.plan = plan
        self.server_url = server_url
        self.database_url = database_url
        self.redis_url = redis_url
        self.workdir = workdir
        self.results = results
        self.sink = SentrySink(keep=False).start()
        # The history comparison sends one lead a message per round, back to back: a flood by the rate
        # limit's measure. A limit that high still counts every message, so the counted cost is the same.
        self.app = create_app({**service_env(database_url, redis_url),
                               "SDR_RATE_LIMIT_MESSAGES": str(PROBE_RATE_LIMIT)})
        self.probe = Probe(self.app, redis_url)
        self.engine: Engine = self.probe.engine
        self.next_run = PROBE_RUN + 1

    def close(self) -> None:
        """Stop the sink and close the in-process app's connections."""
        self.sink.stop()
        self.engine.dispose()
        redis_client = self.app.extensions["sdr_redis"]
        if redis_client is not None:
            redis_client.close()

    def execute(self) -> None:
        """Every scenario, in an order that keeps the empty-database runs before seeding."""
        results = self.results
        self.probe.walk(phone_of(PROBE_RUN, 1), len(SCRIPT))
        results.final_stage = self.probe.stage(phone_of(PROBE_RUN, 1))
        results.counts_empty = self.counts(2)
        results.runs.append(self.floor())
        results.stack = self.stack_comparison()
        results.slow_model = self.slow_model()
        for rate in self.plan.sentry_rates:
            results.runs.append(self.service(sentry_label(rate), "empty", rate))
        results.sentry_cost = self.sentry_cost()
        results.overview_empty = time_overview(self.app, ADMIN_PASSWORD, self.plan.overview_rounds)
        results.seeded = seed(self.engine, self.plan.seed_leads)
        results.overview_grown = time_overview(self.app, ADMIN_PASSWORD, self.plan.overview_rounds)
        results.overview_seeded = self.seeded_overview()
        results.counts_grown = self.counts(4)
        results.history = self.history()
        results.runs.append(self.service(GROWN_LABEL, "grown", None))
        results.growth = self.growth_comparison()

    def counts(self, first_lead: int) -> Counts:
        """Counted cost of a new lead's first message and of a mid-flow message."""
        return Counts(new_lead_cost(self.probe, phone_of(PROBE_RUN, first_lead)),
                      mid_flow_cost(self.probe, phone_of(PROBE_RUN, first_lead + 1)))

    def seeded_overview(self) -> OverviewTiming:
        """The overview on a database of `seed_leads` leads and nothing else: the size the target names.

        The grown database also holds this run's own load (tens of thousands of leads, all within
        the last hour), which is denser than any real month; that figure is reported beside it.
        """
        with throwaway_database(self.server_url, self.redis_url, "sdr_bench_overview") as database_url:
            app = create_app(service_env(database_url, self.redis_url))
            engine: Engine = app.extensions["sdr_session_factory"].kw["bind"]
            try:
                seed(engine, self.plan.seed_leads)
                return time_overview(app, ADMIN_PASSWORD, self.plan.overview_rounds)
            finally:
                engine.dispose()
                redis_client = app.extensions["sdr_redis"]
                if redis_client is not None:
                    redis_client.close()

    def history(self) -> HistoryComparison:
        """A lead with `history_messages` of history against a fresh one, at the same question."""
        template, deep, control = (phone_of(PROBE_RUN, lead) for lead in (6, 7, 8))
        for phone in (template, deep, control):
            self.probe.walk(phone, MID_FLOW_STEP)
        add_history(self.engine, self.probe.lead_id(deep), self.plan.history_messages)
        return compare_history(self.probe, template, deep, control, self.plan.history_rounds)

    def floor(self) -> LoadRun:
        """The bare Flask app under the same gunicorn settings and the same requests."""
        run = self._take_run()
        batch = list(turns(self.plan.floor_warmup + self.plan.floor_messages, self.plan.window))
        warm = self._requests(run, "floor-warm", batch[:self.plan.floor_warmup])
        main = self._requests(run, "floor", batch[self.plan.floor_warmup:])
        env = service_env(self.database_url, self.redis_url)
        with GunicornServer("bench.floor_app:app", env, self.workdir / "floor.log") as server:
            replay(server.url, warm)
            rss_warm = server.worker_rss_mb()
            cpu_before = server.worker_cpu_seconds()
            load = replay(server.url, main)
            cpu_ms = (server.worker_cpu_seconds() - cpu_before) * 1000 / max(load.requests, 1)
            rss_end = server.worker_rss_mb()
        return LoadRun(FLOOR_LABEL, "none", load, cpu_ms, rss_warm, rss_warm, rss_end, is_floor=True,
                       sent=len(batch))

    def service(self, label: str, database: str, rate: float | None) -> LoadRun:
        """The real service from app.py: warm-up, up to the checkpoint, then the measured replay."""
        run = self._take_run()
        plan = self.plan
        batch = list(turns(plan.messages, plan.window))
        files = [self._requests(run, f"{run}-{part}", part_turns) for part, part_turns in
                 (("warm", batch[:plan.warmup]), ("checkpoint", batch[plan.warmup:plan.checkpoint]),
                  ("measured", batch[plan.checkpoint:]))]
        env = self._service_env(rate)
        traced_before = self._traced()
        with GunicornServer("app:app", env, self.workdir / f"service-{run}.log") as server:
            replay(server.url, files[0])
            rss_warm = server.worker_rss_mb()
            replay(server.url, files[1])
            rss_checkpoint = server.worker_rss_mb()
            cpu_before = server.worker_cpu_seconds()
            load = replay(server.url, files[2])
            cpu_ms = (server.worker_cpu_seconds() - cpu_before) * 1000 / max(load.requests, 1)
            rss_end = server.worker_rss_mb()
        # Counted after the workers stopped: they flush their queues on the way out.
        transactions = self._traced() - traced_before
        finished = completed_leads(batch)
        return LoadRun(label, database, load, cpu_ms, rss_warm, rss_checkpoint, rss_end, sentry_rate=rate,
                       sent=len(batch), stored=self._stored_inbound(run), finished_leads=len(finished),
                       **self._final_stages(run, finished, self.results.final_stage),
                       transactions_at_sink=transactions if rate is not None else None)

    def slow_model(self) -> list[SlowModelRun]:
        """A language model answering in 1.5 s and 64 leads writing at once: the service with its defaults,
        then with fewer threads per worker for comparison, each on the benchmark's database."""
        runs = []
        workers = gunicorn_setting("workers")
        for threads in (None, *self.plan.slow_model_compare_threads):
            overrides = {} if threads is None else {"GUNICORN_THREADS": str(threads)}
            label = "defaults" if threads is None else f"{workers} × {threads} threads"
            run = self._take_run()
            phones = [phone_of(run, lead) for lead in range(self.plan.slow_model_leads)]
            with SlowModel() as model:
                env = model_env({**service_env(self.database_url, self.redis_url), **overrides}, model)
                with GunicornServer("app:app", env, scenario_log(self.workdir, label)) as server:
                    runs.append(run_slow_model(self.app, server, model, phones, SLOW_MODEL_CONCURRENCY, label,
                                               workers, threads or gunicorn_setting("threads"), self.probe.stage))
        return runs

    def sentry_cost(self) -> SentryCost:
        """One service per Sentry setting, started together and warmed up, then driven in turns, round
        after round (the order reversed every other round). Each one's worker CPU is counted from before
        the first round to a while after the last, idle turns included: what the SDK's threads send
        after a round (batched logs and metrics, a transport queue draining) is its cost too."""
        plan = self.plan
        with ExitStack() as running:
            services = [self._warmed_service(running, self._service_env(rate), "cost", plan.cost_rounds,
                                             plan.cost_round_messages) for rate in plan.sentry_rates]
            time.sleep(COST_SETTLE_S)  # the warm-ups' batched uploads go out before counting starts
            cpu_start = [server.worker_cpu_seconds() for server, _files in services]
            measured = self._alternate(services)
            time.sleep(COST_SETTLE_S)
            sent = {rate: sum(result.requests for result in results) for rate, results in zip(plan.sentry_rates, measured)}
            cpu_ms = {rate: (server.worker_cpu_seconds() - start) * 1000 / max(sent[rate], 1)
                      for rate, (server, _files), start in zip(plan.sentry_rates, services, cpu_start)}
        return SentryCost(plan.cost_rounds, sent, cpu_ms)

    def growth_comparison(self) -> GrowthComparison:
        """The service (Sentry off) on a new empty database and on the grown one, both running and warmed
        up, then driven in turns, round after round (the order reversed every other round): the load runs
        on the empty and the grown database are minutes apart, and the machine drifts over minutes."""
        plan = self.plan
        with ExitStack() as running:
            empty_url = running.enter_context(throwaway_database(self.server_url, self.redis_url, "sdr_bench_empty"))
            services = [self._warmed_service(running, service_env(database_url, self.redis_url), "growth",
                                             plan.growth_rounds, plan.growth_round_messages)
                        for database_url in (empty_url, self.database_url)]
            empty, grown = self._alternate(services)
        return GrowthComparison(empty=empty, grown=grown)

    def stack_comparison(self) -> StackComparison:
        """The floor, the lean reference and the service at Sentry off and 0.1, each on its own fresh
        database, all running and warmed up, then driven in turns, round after round: the limit the
        service is judged against is measured under the same drift as the service itself."""
        plan = self.plan
        sides = [(FLOOR_LABEL, "bench.floor_app:app", None), (REFERENCE_LABEL, "bench.reference_app:app", None),
                 (sentry_label(None), "app:app", None), (sentry_label(0.1), "app:app", 0.1)]
        with ExitStack() as running:
            services = []
            for index, (_label, app_spec, rate) in enumerate(sides):
                database_url = running.enter_context(
                    throwaway_database(self.server_url, self.redis_url, f"sdr_bench_stack{index}"))
                env = service_env(database_url, self.redis_url, self.sink.dsn() if rate is not None else "", rate)
                services.append(self._warmed_service(running, env, f"stack{index}", plan.stack_rounds,
                                                     plan.stack_round_messages, app_spec))
            measured = self._alternate(services)
        return StackComparison({label: rounds for (label, _spec, _rate), rounds in zip(sides, measured)})

    def _warmed_service(self, running: ExitStack, env: dict[str, str], tag: str, rounds: int,
                        size: int, app_spec: str = "app:app") -> tuple[GunicornServer, list[Path]]:
        """An app started within `running` and warmed up, with its requests for `rounds` rounds of `size`."""
        warmup = self.plan.cost_warmup
        run = self._take_run()
        batch = list(turns(warmup + rounds * size, self.plan.window))
        warm = self._requests(run, f"{run}-{tag}-warm", batch[:warmup])
        files = [self._requests(run, f"{run}-{tag}-{index}", batch[warmup + index * size:warmup + (index + 1) * size])
                 for index in range(rounds)]
        server = running.enter_context(GunicornServer(app_spec, env, self.workdir / f"{tag}-{run}.log"))
        replay(server.url, warm)
        return server, files

    @staticmethod
    def _alternate(services: list[tuple[GunicornServer, list[Path]]]) -> list[list[LoadResult]]:
        """Each service's rounds, driven in turns, the order reversed every other round: drift falls on all alike."""
        measured: list[list[LoadResult]] = [[] for _ in services]
        order = list(enumerate(services))
        for index in range(len(services[0][1])):
            for position, (server, files) in order if index % 2 == 0 else reversed(order):
                measured[position].append(replay(server.url, files[index]))
        return measured

    def _service_env(self, rate: float | None) -> dict[str, str]:
        """The service's environment, sending to the sink at this tracing rate (None: Sentry off)."""
        return service_env(self.database_url, self.redis_url, self.sink.dsn() if rate is not None else "", rate)

    def _take_run(self) -> int:
        run = self.next_run
        self.next_run += 1
        return run

    def _requests(self, run: int, name: str, batch: list[Turn]) -> Path:
        path = self.workdir / f"requests-{name}.tsv"
        write_requests(path, run, batch, AUTH_TOKEN, PUBLIC_BASE_URL)
        return path

    def _traced(self) -> int:
        return self.sink.item_counts().get("transaction", 0)

    def _stored_inbound(self, run: int) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM messages m JOIN leads l ON l.id = m.lead_id "
                "WHERE l.phone LIKE :prefix AND m.direction = 'inbound'"), {"prefix": phone_of(run, 0)[:-6] + "%"},
            ).scalar_one())

    def _final_stages(self, run: int, leads: set[int], stage: str) -> dict[str, int]:
        """How many finished leads' messages were stored in script order, and how many of those end at `stage`.

        wrk keeps 32 requests in flight and does not wait for a lead's reply before its next
        message, so a request stalled behind a busy worker can be overtaken by the same lead's
        next one; such a lead legitimately ends elsewhere and is left out of the check.
        """
        expected = {phone_of(run, lead): [text_of(Turn(lead, step)) for step in range(len(SCRIPT))] for lead in leads}
        query = text(
            "SELECT l.phone, l.stage, array_agg(m.text ORDER BY m.id) FROM leads l "
            "JOIN messages m ON m.lead_id = l.id AND m.direction = 'inbound' "
            "WHERE l.phone = ANY(:phones) GROUP BY l.id, l.phone, l.stage"
        )
        in_order = at_stage = 0
        with self.engine.connect() as connection:
            for phone, lead_stage, texts in connection.execute(query, {"phones": list(expected)}):
                if list(texts) == expected[phone]:
                    in_order += 1
                    at_stage += lead_stage == stage
        return {"finished_in_order": in_order, "finished_at_final_stage": at_stage}


def git_commit() -> str:
    """Short hash of the checked-out commit, marked when the tree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + ("+changes" if git("status", "--porcelain", "--untracked-files=no") else "")


def run_benchmark(plan: Plan, server_url: str, redis_url: str, command: str, workdir: Path | None = None) -> Results:
    """Run the whole plan on a throwaway database and return the results."""
    started = time.monotonic()
    with throwaway_database(server_url, redis_url) as database_url, flushed_redis(redis_url):
        results = Results(plan=plan, machine=describe_machine(database_url, redis_url), command=command,
                          commit=git_commit(), started_at=datetime.now(timezone.utc),
                          workers=gunicorn_setting("workers"),
                          threads=gunicorn_setting("threads"), connections=CONNECTIONS)
        with tempfile.TemporaryDirectory(prefix="sdr-bench-") as scratch:
            bench = Bench(plan, server_url, database_url, redis_url, workdir or Path(scratch), results)
            try:
                bench.execute()
            finally:
                bench.close()
    results.duration_s = time.monotonic() - started
    return results
