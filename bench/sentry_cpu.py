"""`python -m bench.sentry_cpu`: process CPU per message with Sentry off, at traces 0.1 and at 1.0, in alternating rounds.

One child process per setting builds the app in-process (Flask test client, no HTTP server) against
its own throwaway database, takes warm-up messages, then runs round after round in turn with the
other settings (the order reversed every other round), so the machine's drift over minutes falls on
every setting alike. Each child counts its whole process CPU (the SDK's background threads included)
from before its first round to after its last one and a flush; the envelope sink runs in this parent
process, so receiving what the SDK sends costs the children nothing.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass

from sdr_agent.config import PROJECT_ROOT

from .environment import DEFAULT_SERVER_URL, flushed_redis, service_env, throwaway_database
from .workload import post_signed, signed_requests

# None: Sentry off; otherwise the traces sample rate.
RATES: tuple[float | None, ...] = (None, 0.1, 1.0)
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/7"
# What the SDK's threads do after the last round (batched metrics, the transport queue) is its cost too.
SETTLE_S = 1.0


@dataclass(frozen=True)
class SentryCpu:
    """CPU per message of each setting: the whole run, and each round's own figure."""

    messages: dict[str, int]
    cpu_ms_per_message: dict[str, float]
    rounds_ms: dict[str, list[float]]

    def ratio(self, setting: str) -> float:
        """CPU per message of this setting / Sentry off."""
        return self.cpu_ms_per_message[setting] / self.cpu_ms_per_message["off"]


def setting_name(rate: float | None) -> str:
    """"off" or the rate as written ("0.1", "1")."""
    return "off" if rate is None else f"{rate:g}"


def child(rate: float | None, index: int, database_url: str, redis_url: str, dsn: str, warmup: int,
          total: int) -> None:
    """Build the app, warm it up, then run the rounds the parent asks for on stdin; answer on stdout."""
    from sdr_agent import create_app
    from sdr_agent.telemetry import flush_telemetry

    env = service_env(database_url, redis_url, dsn if rate is not None else "", rate)
    client = create_app(env).test_client()
    pending = iter(signed_requests(index, warmup + total, env["TWILIO_AUTH_TOKEN"], env["PUBLIC_BASE_URL"]))

    def post(count: int) -> None:
        for _ in range(count):
            post_signed(client, next(pending))

    post(warmup)
    flush_telemetry(5.0)
    _answer({"ready": True})
    started = time.process_time()
    sent = 0
    for line in sys.stdin:
        count = int(line)
        if count == 0:
            break
        before = time.process_time()
        post(count)
        sent += count
        _answer({"round_ms": (time.process_time() - before) * 1000 / count})
    flush_telemetry(5.0)
    time.sleep(SETTLE_S)
    _answer({"messages": sent, "cpu_ms": (time.process_time() - started) * 1000})


def _answer(payload: dict[str, object]) -> None:
    print(json.dumps(payload), flush=True)


def _read(process: subprocess.Popen[str]) -> dict[str, object]:
    line = process.stdout.readline() if process.stdout else ""
    if not line:
        raise RuntimeError(f"child exited: {process.wait()}")
    return json.loads(line)


def measure(server_url: str, redis_url: str, warmup: int, rounds: int, round_messages: int) -> SentryCpu:
    """Start one child per setting, warm each up, alternate the rounds, collect each one's CPU per message."""
    from tests.sentry_sink import SentrySink

    sink = SentrySink(keep=False).start()
    names = [setting_name(rate) for rate in RATES]
    try:
        with ExitStack() as stack:
            stack.enter_context(flushed_redis(redis_url))
            children: list[subprocess.Popen[str]] = []
            for index, rate in enumerate(RATES, start=1):
                database_url = stack.enter_context(throwaway_database(server_url, redis_url, "sdr_sentry_cpu"))
                command = [sys.executable, "-m", "bench.sentry_cpu", "--child", names[index - 1],
                           "--index", str(index), "--database-url", database_url, "--redis-url", redis_url,
                           "--dsn", sink.dsn(), "--warmup", str(warmup), "--total", str(rounds * round_messages)]
                process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                           cwd=PROJECT_ROOT, env={**os.environ, "PYTHONHASHSEED": "0"})
                stack.callback(_stop, process)
                children.append(process)
            for process in children:
                _read(process)
            per_round: dict[str, list[float]] = {name: [] for name in names}
            order = list(zip(names, children))
            for number in range(rounds):
                for name, process in order if number % 2 == 0 else reversed(order):
                    assert process.stdin is not None
                    process.stdin.write(f"{round_messages}\n")
                    process.stdin.flush()
                    per_round[name].append(float(_read(process)["round_ms"]))  # type: ignore[arg-type]
            totals = {}
            for name, process in order:
                assert process.stdin is not None
                process.stdin.write("0\n")
                process.stdin.flush()
                totals[name] = _read(process)
    finally:
        sink.stop()
    return SentryCpu({name: int(totals[name]["messages"]) for name in names},  # type: ignore[call-overload]
                     {name: float(totals[name]["cpu_ms"]) / int(totals[name]["messages"]) for name in names},  # type: ignore[arg-type, call-overload]
                     per_round)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.stdin is not None and not process.stdin.closed:
        process.stdin.close()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def report(result: SentryCpu) -> str:
    """A markdown table: CPU per message, ratio to Sentry off, the median and spread of the rounds."""
    lines = ["| Sentry | process CPU ms/msg | × off | rounds: median (min–max) ms/msg |", "|---|---|---|---|"]
    for name, cpu in result.cpu_ms_per_message.items():
        rounds = result.rounds_ms[name]
        lines.append(f"| {name} | {cpu:.2f} | {result.ratio(name):.3f} | "
                     f"{statistics.median(rounds):.2f} ({min(rounds):.2f}–{max(rounds):.2f}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure every setting and print the table (or, with --child, be one setting's process)."""
    parser = argparse.ArgumentParser(prog="python -m bench.sentry_cpu", description=__doc__.splitlines()[0])
    parser.add_argument("--database-server", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--round-messages", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--index", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--dsn", help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        rate = None if args.child == "off" else float(args.child)
        child(rate, args.index, args.database_url, args.redis_url, args.dsn, args.warmup, args.total)
        return 0
    result = measure(args.database_server, args.redis_url, args.warmup, args.rounds, args.round_messages)
    print(json.dumps(result.__dict__) if args.json else report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
