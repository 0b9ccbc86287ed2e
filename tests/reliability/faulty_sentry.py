"""Sentry ingests that misbehave: down, slow, failing with 500, rate limiting with 429."""
from __future__ import annotations

from bench.server import free_port
from tests.sentry_sink import SentrySink

SLOW_DELAY_S = 5.0
RATE_LIMIT_S = 60
# What sentry.io sends with a 429: a Retry-After and its own header naming the categories and scope
# (no categories = every category), which the SDK honours per category.
RATE_LIMIT_HEADERS = {"Retry-After": str(RATE_LIMIT_S), "X-Sentry-Rate-Limits": f"{RATE_LIMIT_S}::organization"}
HEALTHY = "healthy"
SLOW = "slow"
ERROR_500 = "error_500"
RATE_LIMITED_429 = "rate_limited_429"
DOWN = "down"


def misbehave(sink: SentrySink, fault: str) -> None:
    """Make a running sink answer as a healthy, slow (5 s), failing (500) or rate-limiting (429) ingest."""
    behaviours = {
        HEALTHY: {},
        SLOW: {"delay_s": SLOW_DELAY_S},
        ERROR_500: {"status": 500},
        RATE_LIMITED_429: {"status": 429, "headers": RATE_LIMIT_HEADERS},
    }
    if fault not in behaviours:
        raise ValueError(f"unknown Sentry fault {fault!r}; expected one of {sorted(behaviours)}")
    sink.respond_with(**behaviours[fault])  # type: ignore[arg-type]


def closed_port_dsn() -> str:
    """A DSN whose port nobody listens on (an ingest that is down): every upload is refused at connect."""
    return f"http://publickey@127.0.0.1:{free_port()}/1"
