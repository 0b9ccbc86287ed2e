"""`python -m bench [--plan full|smoke]`: run the benchmark and write docs/benchmarks.md."""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError

from sdr_agent.config import PROJECT_ROOT

from .environment import DEFAULT_REDIS_URL, DEFAULT_SERVER_URL
from .loadgen import LoadToolMissing, wrk_path
from .plan import PLANS
from .report import write_report
from .run import run_benchmark
from .targets import judge


def main(argv: list[str] | None = None) -> int:
    """Run one plan; print the tables; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--plan", choices=sorted(PLANS), default="full")
    parser.add_argument("--output", type=Path, default=PROJECT_ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--database-server", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_SERVER_URL),
                        help="PostgreSQL URL; a throwaway database is created on this server and dropped after")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
                        help="Redis database used (flushed before and after)")
    args = parser.parse_args(argv)
    try:
        wrk_path()
    except LoadToolMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    command = os.environ.get("BENCH_COMMAND") or "python -m bench " + shlex.join(argv if argv is not None else sys.argv[1:])
    try:
        results = run_benchmark(PLANS[args.plan], args.database_server, args.redis_url, command)
    except (OperationalError, RedisConnectionError) as exc:
        print(f"bench: PostgreSQL ({args.database_server}) and Redis ({args.redis_url}) must be running: "
              f"{type(exc).__name__}: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    print(write_report(results, args.output))
    missed = [verdict.target for verdict in judge(results) if not verdict.met]
    if missed:
        print("targets missed: " + "; ".join(missed), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
