"""Attempt limits for the dashboard login and the simulator, per client, counted before the check."""
from __future__ import annotations

import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)

KEY_PREFIX = "sdr:throttle"


class Throttle:
    """Every tier of `limits` (e.g. "5/minute;20/hour") counts each attempt before it is judged.

    Counting first means a burst of parallel attempts cannot all pass the check before any is
    counted. Tiers make a persistent client back off for longer, while the key (the client's
    address, as the trusted proxy reported it) keeps everyone else out of its penalty.
    """

    def __init__(self, name: str, limits: str, redis_url: str | None) -> None:
        self.name = name
        self.items: list[RateLimitItem] = parse_many(limits)
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._shared = MovingWindowRateLimiter(_redis_storage(redis_url)) if redis_url else None

    def attempt(self, client: str) -> float | None:
        """Count one attempt; None when it may go ahead, else the seconds to wait."""
        limiter = self._limiter()
        try:
            return self._attempt(limiter, client)
        except StorageError:
            # Redis is down: this process's own counts still hold the line.
            log.warning("throttle storage unavailable, counting in memory", extra={"throttle": self.name})
            return self._attempt(self._memory, client)

    def forgive(self, client: str) -> None:
        """Forget the client's attempts (after a good password)."""
        for limiter in filter(None, (self._shared, self._memory)):
            for item in self.items:
                try:
                    limiter.clear(item, self.name, client)
                except StorageError:
                    log.warning("throttle storage unavailable while clearing", extra={"throttle": self.name})

    def _limiter(self) -> MovingWindowRateLimiter:
        return self._shared or self._memory

    def _attempt(self, limiter: MovingWindowRateLimiter, client: str) -> float | None:
        wait = 0.0
        for item in self.items:
            if not limiter.hit(item, self.name, client):
                reset_at = limiter.get_window_stats(item, self.name, client).reset_time
                wait = max(wait, reset_at - time.time(), 1.0)
        return math.ceil(wait) if wait else None


def _redis_storage(url: str) -> Storage:
    return storage_from_string(url, key_prefix=KEY_PREFIX, wrap_exceptions=True,
                               socket_timeout=2, socket_connect_timeout=2)
