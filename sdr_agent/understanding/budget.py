"""A hard deadline around model calls: the caller never waits past it, and retries only what still fits."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Callable, TypeVar

from .client import ModelFailure

T = TypeVar("T")
MIN_ATTEMPT_S = 0.5  # less than this left: a second attempt could not finish, so none is made
MAX_ATTEMPTS = 2
# Calls run on these threads so the turn can stop waiting at the deadline even if a read trickles on;
# an abandoned call ends by its own (same) HTTP timeout, so the pool never fills with hung calls for long.
# Sized well above the request threads a worker process runs (gunicorn.conf.py), so a turn never queues
# for a thread; threads are started only as calls need them.
_POOL = ThreadPoolExecutor(max_workers=128, thread_name_prefix="llm-call")


class Deadline:
    """Milliseconds left of one turn's model budget."""

    def __init__(self, budget_ms: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._ends = clock() + budget_ms / 1000

    def remaining_s(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._ends - self._clock())


def within(deadline: Deadline, attempt: Callable[[float], T],
           on_attempt: Callable[[T | ModelFailure, float, float], None] = lambda outcome, started, ended: None) -> T:
    """`attempt(timeout_s)` before the deadline, once more after a retryable failure if time allows.

    `on_attempt(result or failure, started, ended)` hears of every attempt (wall-clock seconds), for tracing.
    """
    failure: ModelFailure | None = None
    for _ in range(MAX_ATTEMPTS):
        remaining = deadline.remaining_s()
        if failure is not None and (not failure.retryable or remaining < MIN_ATTEMPT_S):
            break
        if remaining <= 0:
            break
        started = time.time()
        try:
            result = _bounded(attempt, remaining)
        except ModelFailure as exc:
            failure = exc
            on_attempt(exc, started, time.time())
            continue
        on_attempt(result, started, time.time())
        return result
    raise failure if failure is not None else ModelFailure("timeout")


def _bounded(attempt: Callable[[float], T], timeout_s: float) -> T:
    # Not in this turn's context: a call abandoned at the deadline must not touch the turn's telemetry
    # scope while the turn goes on; the turn records the call's span itself (telemetry.AgentSpan.chat).
    future = _POOL.submit(attempt, timeout_s)
    try:
        return future.result(timeout=timeout_s)
    except FutureTimeout:
        raise ModelFailure("timeout") from None
