"""Sentry ingests that misbehave: down, slow, failing with 500, rate limiting with 429."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from bench.server import free_port
from tests.sentry_sink import SentrySink

SLOW_DELAY_S = 5.0
RATE_LIMIT_S = 60
# What sentry.io sends with a 429: a Retry-After and its own header naming the categories and scope
# (no categories = every category), which the SDK honours per category.
RATE_LIMIT_HEADERS = {"Retry-After": str(RATE_LIMIT_S), "X-Sentry-Rate-Limits": f"{RATE_LIMIT_S}::organization"}
FAULTS = ("down", "slow", "error_500", "rate_limited_429")


@dataclass(frozen=True)
class FaultyIngest:
    """A DSN to give the service, and the sink behind it (None when nothing listens)."""

    fault: str
    dsn: str
    sink: SentrySink | None

    @property
    def requests_received(self) -> int:
        """Envelope POSTs that reached the sink (0 when it is down)."""
        return self.sink.request_count if self.sink is not None else 0


def closed_port_dsn() -> str:
    """A DSN whose port nobody listens on: every upload is refused at connect."""
    return f"http://publickey@127.0.0.1:{free_port()}/1"


@contextmanager
def faulty_ingest(fault: str) -> Iterator[FaultyIngest]:
    """Run a Sentry stand-in that fails in the named way (one of FAULTS) for the duration of the block."""
    if fault == "down":
        yield FaultyIngest(fault, closed_port_dsn(), None)
        return
    # Counting only: the sink must not become the thing that slows down or grows.
    sink = SentrySink(keep=False)
    if fault == "slow":
        sink.respond_with(200, delay_s=SLOW_DELAY_S)
    elif fault == "error_500":
        sink.respond_with(500)
    elif fault == "rate_limited_429":
        sink.respond_with(429, headers=RATE_LIMIT_HEADERS)
    else:
        raise ValueError(f"unknown Sentry fault {fault!r}; expected one of {FAULTS}")
    sink.start()
    try:
        yield FaultyIngest(fault, sink.dsn(), sink)
    finally:
        sink.stop()
