"""The real service under gunicorn (several workers) on a throwaway PostgreSQL database and a private Redis."""
from __future__ import annotations

import os
import signal
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from bench.environment import service_env, throwaway_database
from bench.server import GunicornServer

from tests.conftest import pg_server_url
from tests.reliability.redis_server import PrivateRedis

WORKERS = 3
THREADS = 4
RESPAWN_TIMEOUT_S = 30.0


@dataclass
class Service:
    """A running service: its database URL, its private Redis and its gunicorn master."""

    database_url: str
    redis: PrivateRedis
    server: GunicornServer

    @property
    def url(self) -> str:
        """Base URL on loopback."""
        return self.server.url

    @property
    def log_path(self) -> Path:
        """gunicorn's error and access log."""
        return self.server.log_path

    def worker_pids(self) -> list[int]:
        """Current worker processes."""
        return self.server.worker_pids()

    def kill_worker(self) -> int:
        """SIGKILL one worker (whatever it is doing); returns its pid. gunicorn forks a replacement."""
        pid = self.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        return pid

    def reload(self) -> None:
        """SIGHUP the master: new workers start, the old ones finish their requests and exit."""
        assert self.server.process is not None
        self.server.process.send_signal(signal.SIGHUP)

    def wait_for_workers(self, replaced: frozenset[int] | set[int] = frozenset(),
                         timeout_s: float = RESPAWN_TIMEOUT_S) -> float:
        """Wait until the full set of workers runs and none of `replaced` is among them; seconds waited."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            pids = set(self.worker_pids())
            if len(pids) == self.server.expected_workers() and not pids & replaced:
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"workers not replaced within {timeout_s:.0f}s: {sorted(self.worker_pids())}")


@contextmanager
def running_service(workdir: Path, *, workers: int = WORKERS, threads: int = THREADS,
                    extra_env: Mapping[str, str] | None = None, database_server_url: str | None = None) -> Iterator[Service]:
    """Start a private Redis, migrate a throwaway database, start gunicorn with `workers` x `threads`.

    Everything is stopped and dropped on exit. `extra_env` adds or overrides service settings
    (for example SENTRY_DSN pointing at a local sink).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    # Production settings require REDIS_URL, so the service always has one: its own.
    private_redis = PrivateRedis(workdir / "redis").start()
    try:
        redis_url = private_redis.url
        with throwaway_database(database_server_url or pg_server_url(), redis_url, prefix="sdr_chaos") as database_url:
            env = service_env(database_url, redis_url)
            env.update({"WEB_CONCURRENCY": str(workers), "GUNICORN_THREADS": str(threads)})
            env.update(extra_env or {})
            server = GunicornServer("app:app", env, workdir / "gunicorn.log")
            with server:
                yield Service(database_url, private_redis, server)
    finally:
        private_redis.stop()
