"""docs/benchmarks.md: the latest run's tables between markers, a short history, hand-written findings kept."""
from __future__ import annotations

import re
from pathlib import Path

from .probe import Cost
from .run import FLOOR_LABEL, GROWN_LABEL, SLOW_MODEL_CONCURRENCY, GrowthComparison, Results, sentry_label
from .slow_model import MODEL_DELAY_S
from .targets import Verdict, cpu_ratio, judge, rss_growth
from .workload import SCRIPT

START = "<!-- bench:latest:start -->"
END = "<!-- bench:latest:end -->"
HISTORY_START = "<!-- bench:history:start -->"
HISTORY_END = "<!-- bench:history:end -->"
HISTORY_KEEP = 10
HISTORY_HEADER = ("| date (UTC) | commit | floor msg/s | service 0.1 msg/s | × floor | p99 0.1 (ms) | "
                  "CPU 0.1 / off | CPU 1.0 / off | mid-flow SQL / Redis |\n|---|---|---|---|---|---|---|---|---|\n")
SKELETON = f"""# Benchmarks

`make bench` measures the service against the floor (a bare Flask app answering a fixed
TwiML `<Message>`) under the same gunicorn settings, in one run on one machine; see
"How it works" below. Re-run it after every optimisation: the latest run replaces the
section below and adds a line to the history.

{START}
{END}

## History

{HISTORY_START}
{HISTORY_HEADER}{HISTORY_END}
"""


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _cost(cost: Cost) -> list[str]:
    return [str(len(cost.sql)), str(len(cost.redis)), " ".join(cost.sql), " ".join(cost.redis)]


def _mb(sizes: list[float]) -> str:
    return " / ".join(f"{size:.0f}" for size in sizes)


def load_table(results: Results) -> str:
    """Throughput and latency of every load run, side by side with the floor."""
    floor = results.run(FLOOR_LABEL)
    rows = []
    for run in results.runs:
        rows.append([run.label, run.database, f"{run.load.requests:,}", f"{run.load.throughput:,.0f}",
                     f"{run.load.throughput / floor.load.throughput:.2f}", f"{run.load.p50_ms:.1f}",
                     f"{run.load.p90_ms:.1f}", f"{run.load.p99_ms:.1f}", f"{run.load.max_ms:.0f}", str(run.load.errors),
                     "—" if run.is_floor else f"{run.stored:,} / {run.sent:,}"])
    return _table(["app", "database", "measured msgs", "msg/s", "× floor", "p50 ms", "p90 ms", "p99 ms", "max ms",
                   "errors", "stored / sent"], rows)


def stack_table(results: Results) -> str:
    """Floor, reference and service side by side, from the alternating rounds."""
    stack = results.stack
    if stack is None:
        return "not measured\n"
    rows = []
    for label, rounds in stack.sides.items():
        rows.append([label, f"{sum(r.requests for r in rounds):,}", f"{stack.throughput(label):,.0f}",
                     f"{stack.ratio(label, FLOOR_LABEL):.2f}", f"{stack.ratio(label):.2f}",
                     f"{GrowthComparison.median(rounds, 'p50_ms'):.1f}", f"{stack.p99(label):.1f}",
                     str(sum(r.errors for r in rounds))])
    return _table(["app", "messages", "msg/s", "× floor", "× reference", "p50 ms (median of rounds)",
                   "p99 ms (median of rounds)", "errors"], rows)


def sentry_table(results: Results) -> str:
    """Worker CPU per message (alternating rounds) and throughput (the load runs) for each Sentry setting."""
    off = results.run(sentry_label(None))
    cost = results.sentry_cost
    rows = []
    for rate in results.plan.sentry_rates:
        run = results.run(sentry_label(rate))
        rows.append(["off" if rate is None else f"traces {rate:g}",
                     f"{cost.cpu_ms_per_message[rate]:.2f}" if cost else "", f"{cpu_ratio(results, rate):.3f}"
                     if rate is not None else "1.000", f"{run.cpu_ms_per_message:.2f}",
                     f"{run.load.throughput / off.load.throughput:.2f}",
                     "—" if run.transactions_at_sink is None else f"{run.transactions_at_sink:,} of {run.sent:,}"])
    floor = results.run(FLOOR_LABEL)
    rows.append(["(floor)", "", "", f"{floor.cpu_ms_per_message:.2f}", "", ""])
    rounds = f"{cost.rounds} alternating rounds, {min(cost.messages.values()):,} messages each" if cost else "not measured"
    return _table(["Sentry", f"worker CPU ms/msg ({rounds})", "× off", "worker CPU ms/msg (load run)",
                   "throughput × off (load runs)", "transactions at sink / messages"], rows)


def counts_table(results: Results) -> str:
    """Counted SQL statements and Redis commands per message, empty and grown database."""
    rows = []
    for label, counts in (("empty", results.counts_empty), ("grown", results.counts_grown)):
        if counts is None:
            continue
        rows.append([f"new lead, {label} DB", *_cost(counts.new_lead)])
        rows.append([f"mid-flow, {label} DB", *_cost(counts.mid_flow)])
    if results.history:
        rows.append([f"mid-flow, lead with {results.plan.history_messages:,} messages", *_cost(results.history.history_cost)])
    return _table(["message", "SQL", "Redis", "statements", "commands"], rows)


def growth_table(results: Results) -> str:
    """The same traffic on the empty and the grown database; a long history against a short one."""
    off = results.run(sentry_label(None))
    grown = results.run(GROWN_LABEL)
    rows = [["load, empty DB (Sentry off)", f"{off.load.throughput:,.0f} msg/s", f"{off.load.p50_ms:.1f}",
             f"{off.load.p99_ms:.1f}", ""],
            [f"load, {results.plan.seed_leads:,} more leads / {results.seeded.messages if results.seeded else 0:,} "
             "more messages", f"{grown.load.throughput:,.0f} msg/s", f"{grown.load.p50_ms:.1f}", f"{grown.load.p99_ms:.1f}",
             f"p50 {grown.load.p50_ms / off.load.p50_ms:.2f} ×, p99 {grown.load.p99_ms / off.load.p99_ms:.2f} × "
             "(runs minutes apart)"]]
    if results.growth:
        growth, plan = results.growth, results.plan

        def both(percentile: str) -> str:
            return f"{growth.median(growth.empty, percentile):.1f} / {growth.median(growth.grown, percentile):.1f}"

        throughput = [sum(r.requests for r in side) / sum(r.elapsed_s for r in side) for side in (growth.empty, growth.grown)]
        rows.append([f"empty / grown DB side by side, {plan.growth_rounds} alternating rounds of "
                     f"{plan.growth_round_messages:,} messages each (median of the rounds)",
                     f"{throughput[0]:,.0f} / {throughput[1]:,.0f} msg/s", both("p50_ms"), both("p99_ms"),
                     f"p50 {growth.ratio('p50_ms'):.2f} ×, p99 {growth.ratio('p99_ms'):.2f} ×"])
    if results.history:
        history = results.history
        rows.append([f"one message in-process, lead with {results.plan.history_messages:,} messages (median of "
                     f"{results.plan.history_rounds})", "", f"{history.history_ms:.1f}", "",
                     f"{history.ratio:.2f} × a lead with 5"])
    if results.overview_seeded:
        seeded = results.overview_seeded
        rows.append([f"dashboard overview page, last 30 days, in-process, {results.plan.seed_leads:,} seeded leads "
                     f"only (median of {len(seeded.samples_ms)})", "", f"{seeded.median_ms:.1f}", "", ""])
    if results.overview_empty and results.overview_grown:
        empty, grown_page = results.overview_empty, results.overview_grown
        rows.append([f"dashboard overview page, last 30 days, in-process, seeded leads plus this run's load "
                     f"(median of {len(grown_page.samples_ms)})", "", f"{grown_page.median_ms:.1f}", "",
                     f"{grown_page.median_ms / empty.median_ms:.1f} × the load alone ({empty.median_ms:.1f} ms)"])
    return _table(["scenario", "throughput", "p50 ms", "p99 ms", "ratio"], rows)


def slow_model_table(results: Results) -> str:
    """The slow-model scenario: replies through the model, and what needs no model meanwhile."""
    if not results.slow_model:
        return "not measured\n"
    rows = []
    for run in results.slow_model:
        for name, latencies in (("lead replies (through the model)", run.replies), ("/healthz", run.health),
                                ("message status callbacks", run.status_callbacks), ("call openings", run.voice)):
            rows.append([f"{run.label} ({run.workers} × {run.threads})", name, f"{len(latencies.samples):,}",
                         f"{latencies.p50:,.0f}", f"{latencies.p95:,.0f}", f"{latencies.max:,.0f}",
                         str(latencies.errors)])
    header = ["gunicorn", "requests", "count", "p50 ms", "p95 ms", "max ms", "errors"]
    notes = [f"- {run.label}: {run.throughput:.1f} model-assisted replies/s over {run.elapsed_s:.1f} s; the model "
             f"was asked {run.model_requests:,} times, at most {run.model_peak_in_flight} at once; "
             f"{run.at_next_stage} / {run.leads} leads moved on to the next question" for run in results.slow_model]
    return _table(header, rows) + "\n" + "\n".join(notes) + "\n"


def memory_table(results: Results) -> str:
    """RSS of each worker after warm-up, at the checkpoint and at the end."""
    plan = results.plan
    rows = []
    for run in results.runs:
        rows.append([run.label, _mb(run.rss_after_warmup), "—" if run.is_floor else _mb(run.rss_at_checkpoint),
                     _mb(run.rss_at_end), "—" if run.is_floor else f"{rss_growth(run):+.1%}"])
    return _table(["app", f"after warm-up ({plan.warmup:,} msgs)", f"at {plan.checkpoint:,}", f"at {plan.messages:,}",
                   "growth"], rows)


def verdict_table(verdicts: list[Verdict]) -> str:
    """Targets and whether this run met them."""
    return _table(["target", "measured", "met"], [[v.target, v.measured, "yes" if v.met else "**no**"] for v in verdicts])


def latest_section(results: Results) -> str:
    """The markdown of one run: context, then a table per scenario."""
    machine = results.machine
    plan = results.plan
    seeded = results.seeded
    seed_line = (f"{seeded.leads:,} leads and {seeded.messages:,} messages added in {seeded.seconds:.1f} s"
                 if seeded else "not seeded")
    return "\n".join([
        f"## Latest run ({plan.name})",
        "",
        f"- Date: {results.started_at:%Y-%m-%d %H:%M} UTC, commit `{results.commit}`, took {results.duration_s / 60:.1f} min",
        f"- Command: `{results.command}`",
        f"- Machine: {machine.cpu}, {machine.cores} cores, {machine.memory_gb:.0f} GB RAM, Linux {machine.kernel}; "
        f"Python {machine.python}, PostgreSQL {machine.postgresql}, Redis {machine.redis}, {machine.wrk} "
        "(all on this machine, load generator included)",
        f"- gunicorn: `gunicorn.conf.py` as in production, {results.workers} workers × {results.threads} threads "
        f"(gthread); wrk: 1 thread, {results.connections} connections, keep-alive, each request sent once",
        f"- Traffic: leads walking the {len(SCRIPT)}-message script, {plan.window} leads in flight, unique "
        f"MessageSids; per service run {plan.warmup:,} warm-up + {plan.checkpoint - plan.warmup:,} + "
        f"{plan.messages - plan.checkpoint:,} measured messages (the last replay is the one in the tables)",
        f"- Grown database: {seed_line}",
        f"- Final stage of a lead finishing the script: `{results.final_stage}`",
        "",
        "### Targets",
        "",
        verdict_table(judge(results)),
        f"### Floor, reference and service ({results.connections} connections, {plan.stack_rounds} alternating "
        f"rounds of {plan.stack_round_messages:,} messages, each app on its own database)",
        "",
        stack_table(results),
        f"### Throughput and latency, one load run each ({results.connections} connections)",
        "",
        load_table(results),
        f"### Slow model ({MODEL_DELAY_S:g} s per answer, {SLOW_MODEL_CONCURRENCY} leads writing at once)",
        "",
        slow_model_table(results),
        "### Sentry cost (local envelope sink)",
        "",
        sentry_table(results),
        "### Cost per message (counted: SQLAlchemy events, Redis MONITOR)",
        "",
        counts_table(results),
        "### Growth",
        "",
        growth_table(results),
        "### Memory (RSS per worker, MB)",
        "",
        memory_table(results),
    ])


def history_row(results: Results) -> str:
    """One line of the history table."""
    floor = results.run(FLOOR_LABEL)
    sampled = results.run(sentry_label(0.1))
    mid = results.counts_empty.mid_flow if results.counts_empty else Cost((), ())
    return (f"| {results.started_at:%Y-%m-%d %H:%M} | `{results.commit}` | {floor.load.throughput:,.0f} | "
            f"{sampled.load.throughput:,.0f} | {sampled.load.throughput / floor.load.throughput:.2f} | "
            f"{sampled.load.p99_ms:.1f} | {cpu_ratio(results, 0.1):.3f} | "
            f"{cpu_ratio(results, 1.0):.3f} | {len(mid.sql)} / {len(mid.redis)} |\n")


def write_report(results: Results, path: Path) -> str:
    """Replace the latest-run section of `path` (created if missing), add a history line; return the section."""
    document = path.read_text(encoding="utf-8") if path.exists() else SKELETON
    section = latest_section(results)
    document = _replace_between(document, START, END, "\n" + section + "\n")
    history = _between(document, HISTORY_START, HISTORY_END)
    rows = [line + "\n" for line in history.splitlines() if line.startswith("| 2")]
    rows = (rows + [history_row(results)])[-HISTORY_KEEP:]
    document = _replace_between(document, HISTORY_START, HISTORY_END, "\n" + HISTORY_HEADER + "".join(rows))
    path.write_text(document, encoding="utf-8")
    return section


def _between(document: str, start: str, end: str) -> str:
    match = re.search(re.escape(start) + "(.*?)" + re.escape(end), document, re.S)
    if match is None:
        raise ValueError(f"{start} … {end} markers are missing")
    return match.group(1)


def _replace_between(document: str, start: str, end: str, body: str) -> str:
    _between(document, start, end)
    return re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _m: start + body + end, document, count=1, flags=re.S)
