"""A circuit breaker over model calls, shared by every worker through Redis (in-process without it)."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable

from redis import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

FAILURES_KEY = "sdr:llm:breaker:failures"
OPEN_KEY = "sdr:llm:breaker:open"
DEFAULT_THRESHOLD = 5  # failures within the window that open the circuit
DEFAULT_WINDOW_MS = 60_000
DEFAULT_COOLDOWN_MS = 30_000  # the circuit closes by itself after this; the next call tests the model again


class CircuitBreaker:
    """Opens after `threshold` failures within `window_ms`; while open, no call is made; closes by itself."""

    def __init__(self, redis: Redis | None, threshold: int = DEFAULT_THRESHOLD, window_ms: int = DEFAULT_WINDOW_MS,
                 cooldown_ms: int = DEFAULT_COOLDOWN_MS, clock: Callable[[], float] = time.monotonic) -> None:
        self.redis = redis
        self.threshold = threshold
        self.window_ms = window_ms
        self.cooldown_ms = cooldown_ms
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: deque[float] = deque()
        self._open_until = 0.0

    def allows(self) -> bool:
        """Whether a call may be made now."""
        if self.redis is not None:
            try:
                return not self.redis.exists(OPEN_KEY)
            except RedisError as exc:
                log.warning("redis unavailable for the model circuit breaker: %s", type(exc).__name__)
        with self._lock:
            return self._clock() >= self._open_until

    def failed(self) -> bool:
        """Count a failure; True when this one opened the circuit."""
        if self.redis is not None:
            try:
                return self._failed_shared(self.redis)
            except RedisError as exc:
                log.warning("redis unavailable for the model circuit breaker: %s", type(exc).__name__)
        with self._lock:
            now = self._clock()
            self._failures.append(now)
            while self._failures and now - self._failures[0] > self.window_ms / 1000:
                self._failures.popleft()
            if len(self._failures) >= self.threshold:
                self._failures.clear()
                self._open_until = now + self.cooldown_ms / 1000
                return True
            return False

    def succeeded(self) -> None:
        """A good answer: earlier failures no longer count."""
        if self.redis is not None:
            try:
                self.redis.delete(FAILURES_KEY)
                return
            except RedisError as exc:
                log.warning("redis unavailable for the model circuit breaker: %s", type(exc).__name__)
        with self._lock:
            self._failures.clear()

    def _failed_shared(self, redis: Redis) -> bool:
        pipe = redis.pipeline()
        pipe.incr(FAILURES_KEY)
        pipe.pexpire(FAILURES_KEY, self.window_ms, nx=True)  # the window starts at its first failure
        count = int(pipe.execute()[0])
        if count < self.threshold:
            return False
        pipe = redis.pipeline()
        pipe.set(OPEN_KEY, b"1", px=self.cooldown_ms)
        pipe.delete(FAILURES_KEY)
        pipe.execute()
        return True
