"""Counting refused webhook signatures, so a wrong PUBLIC_BASE_URL is noticed instead of silently 403ing."""
from __future__ import annotations

import threading
import time
from typing import Callable


class RefusalAlarm:
    """Refusals per route in fixed windows; says "warn" once per route and window when the threshold is reached."""

    def __init__(self, threshold: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = threshold
        self.window_s = window_s
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}  # route -> (window start, refusals in it)
        self._lock = threading.Lock()  # gthread workers refuse requests concurrently

    def refused(self, route: str) -> tuple[int, bool]:
        """Count one refusal; returns the window's count and whether this refusal should send the warning."""
        now = self._clock()
        with self._lock:
            started, count = self._windows.get(route, (now, 0))
            if now - started >= self.window_s:
                started, count = now, 0
            count += 1
            self._windows[route] = (started, count)
        # Exactly at the threshold: one warning per route and window, however many follow.
        return count, count == self.threshold
