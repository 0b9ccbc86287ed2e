"""Counter metrics summed in the process and handed on once per interval, one item per name and attributes."""
from __future__ import annotations

import threading
from typing import Callable, Mapping

Emit = Callable[[str, float, dict[str, str]], None]
_Key = tuple[str, tuple[tuple[str, str], ...]]


class MetricTally:
    """Adds up counts per (name, attributes); `flush` (or the timer, `interval_s` after the first count) emits the sums."""

    def __init__(self, emit: Emit, interval_s: float) -> None:
        self._emit = emit
        self._interval_s = interval_s
        self._counts: dict[_Key, float] = {}
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def count(self, name: str, value: float, attributes: Mapping[str, str]) -> None:
        """Add `value` to this name and attribute set's running sum."""
        key = (name, tuple(attributes.items()))
        with self._lock:
            self._counts[key] = self._counts.get(key, 0.0) + value
            if self._timer is None:
                # One short-lived timer per interval with counts pending, none while idle.
                self._timer = threading.Timer(self._interval_s, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Emit every pending sum now (in insertion order) and start over."""
        with self._lock:
            counts, self._counts = self._counts, {}
            timer, self._timer = self._timer, None
        if timer is not None and timer is not threading.current_thread():
            timer.cancel()
        for (name, attributes), value in counts.items():
            self._emit(name, value, dict(attributes))

    def discard(self) -> None:
        """Drop pending sums without emitting them (telemetry is shutting down without a client)."""
        with self._lock:
            self._counts = {}
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
