"""Per-lead rate limit: which place a message takes in its lead's current window, and what that means.

A window starts with a lead's first message and lasts `window_seconds`; every distinct
provider SID in it takes the next place. Places up to `messages` are processed, the next
one gets a polite notice, the rest an empty answer. A repeated SID keeps its place, so a
Twilio retry never uses up the allowance. With Redis the places are counted in Redis (one
count for every gunicorn worker, see `leadgate.py`); without it, or while it is down, in
each process (`LocalWindows`).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import Enum
from typing import Callable

NOT_COUNTED = 0  # the place of a message the limit does not apply to


class Verdict(Enum):
    """What happens to a message, given its place in the window."""

    PROCESS = "process"
    NOTICE = "notice"  # the first message over the limit: stored, answered with a notice
    QUIET = "quiet"  # every later one in the window: stored, answered with an empty response


@dataclass(frozen=True)
class RateLimit:
    """`messages` per `window_seconds` and lead; 0 messages turns the limit off."""

    messages: int
    window_seconds: float

    @property
    def enabled(self) -> bool:
        """Whether messages are counted at all."""
        return self.messages > 0

    @property
    def window_ms(self) -> int:
        """The window in whole milliseconds (Redis PEXPIRE)."""
        return max(int(self.window_seconds * 1000), 1)

    def verdict(self, place: int) -> Verdict:
        """PROCESS up to the limit, NOTICE just over it, QUIET beyond."""
        if not self.enabled or place <= self.messages:
            return Verdict.PROCESS
        return Verdict.NOTICE if place == self.messages + 1 else Verdict.QUIET


@dataclass
class _Window:
    started: float
    places: dict[str, int] = field(default_factory=dict)


class LocalWindows:
    """The same places as the Redis script, counted in this process (Redis absent or down)."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.clock = clock
        self._lock = threading.Lock()
        # Oldest window first: expired ones are dropped from the front, so the table stays small.
        self._windows: OrderedDict[str, _Window] = OrderedDict()

    def place(self, lead_key: str, sid: str) -> int:
        """This SID's place in the lead's current window (a new window if the last one ended)."""
        if not self.limit.enabled:
            return NOT_COUNTED
        now = self.clock()
        with self._lock:
            self._drop_expired(now)
            window = self._windows.get(lead_key)
            if window is None:
                window = self._windows[lead_key] = _Window(started=now)
            return _take_place(window.places, sid, self.limit.messages)

    def forget(self, lead_key: str) -> None:
        """Drop the lead's window (an erased lead's)."""
        with self._lock:
            self._windows.pop(lead_key, None)

    def _drop_expired(self, now: float) -> None:
        horizon = now - self.limit.window_seconds
        while self._windows:
            key, window = next(iter(self._windows.items()))
            if window.started > horizon:
                return
            del self._windows[key]


def _take_place(places: dict[str, int], sid: str, limit: int) -> int:
    """The SID's place; places are remembered only up to the notice, so a flood costs no memory."""
    known = places.get(sid)
    if known is not None:
        return known
    if len(places) > limit:
        return limit + 2  # past the notice: every such message is answered alike
    places[sid] = len(places) + 1
    return places[sid]


# KEYS[1] the reply cache entry, KEYS[2] the lead's window (a hash SID -> place).
# ARGV[1] the SID, ARGV[2] the limit, ARGV[3] the window in ms.
# Returns {cached reply or nil, place}: a cached reply is a retry, which takes no place.
ADMIT_SCRIPT = """
local reply = redis.call('GET', KEYS[1])
if reply then return {reply, 0} end
local place = redis.call('HGET', KEYS[2], ARGV[1])
if place then return {false, tonumber(place)} end
local limit = tonumber(ARGV[2])
local taken = redis.call('HLEN', KEYS[2])
if taken > limit then return {false, limit + 2} end
redis.call('HSET', KEYS[2], ARGV[1], taken + 1)
if taken == 0 then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return {false, taken + 1}
"""
