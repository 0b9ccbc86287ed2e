"""What the benchmark runs against: a throwaway PostgreSQL database, a Redis database, the app's settings."""
from __future__ import annotations

import os
import platform
import secrets
import subprocess
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import redis
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from sdr_agent import create_app
from sdr_agent.extensions import db
from sdr_agent.simulator import EXAMPLE_ACCOUNT_SID

DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
# Databases 0-2 and 5 belong to the test suites; the benchmark keeps to its own.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/4"
AUTH_TOKEN = "bench-auth-token-0123456789abcdef"
ADMIN_PASSWORD = "bench-admin-password"
# Requests are signed for this URL, so they stay valid whatever port the server gets.
PUBLIC_BASE_URL = "https://bench.invalid"


@contextmanager
def throwaway_database(server_url: str, redis_url: str, prefix: str = "sdr_bench") -> Iterator[str]:
    """Create a uniquely named database on the server, migrate it to head, drop it afterwards."""
    base = make_url(server_url)
    name = f"{prefix}_{secrets.token_hex(4)}"
    # Pre-ping: the server may have restarted since the database was created (reliability tests restart it).
    admin = create_engine(base, isolation_level="AUTOCOMMIT", pool_pre_ping=True, connect_args={"connect_timeout": 3})
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url, redis_url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(database_url: str, redis_url: str) -> None:
    from flask_migrate import upgrade

    app = create_app(service_env(database_url, redis_url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@contextmanager
def flushed_redis(url: str) -> Iterator[str]:
    """An empty Redis database, emptied again afterwards."""
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def service_env(database_url: str, redis_url: str | None, sentry_dsn: str = "",
                traces_sample_rate: float | None = None) -> dict[str, str]:
    """The service's environment, as production would set it (every secret explicit)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SENTRY_", "SDR_"))}
    env.pop("RENDER", None)
    env.update({
        "SDR_ENV": "production",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url or "",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": EXAMPLE_ACCOUNT_SID,
        "PHONE_HASH_SECRET": "bench-phone-hash-secret-0123456789abcdef",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef0123",
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        "SENTRY_DSN": sentry_dsn,
        # A fixed release and environment: no `git` subprocess at start, nothing mixed with real data.
        "SENTRY_RELEASE": "bench",
        "SENTRY_ENVIRONMENT": "bench",
    })
    if traces_sample_rate is not None:
        env["SENTRY_TRACES_SAMPLE_RATE"] = str(traces_sample_rate)
    return env


@dataclass(frozen=True)
class Machine:
    """Where the numbers were measured."""

    cpu: str
    cores: int
    memory_gb: float
    kernel: str
    python: str
    postgresql: str
    redis: str
    wrk: str


def describe_machine(database_url: str, redis_url: str) -> Machine:
    """CPU, cores, memory and the versions of everything in the measured path."""
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as info:
        memory_kb = int(info.readline().split()[1])
    engine = create_engine(database_url)
    with engine.connect() as connection:
        postgresql = str(connection.execute(text("SHOW server_version")).scalar_one())
    engine.dispose()
    client = redis.Redis.from_url(redis_url)
    redis_version = str(client.info("server")["redis_version"])
    client.close()
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout.split("[")[0].strip()
    return Machine(cpu, os.cpu_count() or 0, memory_kb / 2**20, platform.release(), platform.python_version(),
                   postgresql, redis_version, wrk or "unknown")
