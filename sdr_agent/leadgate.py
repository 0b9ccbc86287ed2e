"""Redis fast paths for the hot path: cached replies, per-lead rate limit and per-lead locks.

Redis only makes things faster and keeps DB connections free while a lead's messages
queue up; correctness comes from the database (unique MessageSid, lead row lock). So every
Redis failure degrades to the database path instead of failing the webhook.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from redis import Redis
from redis.exceptions import LockError, RedisError

from .ratelimit import ADMIT_SCRIPT, NOT_COUNTED, LocalWindows, RateLimit

log = logging.getLogger(__name__)

REPLY_TTL_SECONDS = 3600  # Twilio retries within minutes; an hour is plenty
LOCK_EXPIRY_SECONDS = 15  # longer than any message takes; frees the lock if a worker dies


# Release the lead's lock if it is still ours and cache the reply, in one round trip.
RELEASE_AND_REMEMBER_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
return 1
"""


@dataclass
class LockOutcome:
    """How taking a lead's lock went; `remember` a reply to have it cached as the lock is released."""

    acquired: bool
    waited_ms: float
    timed_out: bool = False  # another message held the lock for the whole wait
    reply: tuple[str, str] | None = None  # (cache key, body) to cache on release

    def remember(self, cache_key: str, body: str) -> None:
        """Cache this reply when the lock is released (with Redis, in the release's round trip)."""
        self.reply = (cache_key, body)


@dataclass(frozen=True)
class Admission:
    """A message at the door: the reply already sent for it, else its place in the lead's window."""

    cached: str | None
    place: int = NOT_COUNTED


class LeadGate:
    """Reply cache, rate limit and per-lead lock on Redis; in-process or nothing when Redis is absent or down."""

    def __init__(self, redis: Redis | None, wait_timeout: float, rate_limit: RateLimit | None = None) -> None:
        self.redis = redis
        self.wait_timeout = wait_timeout
        self.rate_limit = rate_limit or RateLimit(messages=0, window_seconds=1.0)
        self.local_windows = LocalWindows(self.rate_limit)
        # One round trip does the reply-cache lookup and, on a miss, the counting (EVALSHA).
        self._admit = redis.register_script(ADMIT_SCRIPT) if redis is not None else None
        self._release_and_remember = redis.register_script(RELEASE_AND_REMEMBER_SCRIPT) if redis is not None else None

    def admit(self, cache_key: str, lead_key: str, sid: str) -> Admission:
        """A cached reply (a retry, not counted), else the SID's place in the lead's rate-limit window."""
        if not self.rate_limit.enabled:
            return Admission(self.cached_reply(cache_key))
        if self._admit is not None:
            try:
                cached, place = self._admit(
                    keys=[_reply_key(cache_key), _rate_key(lead_key)],
                    args=[sid, self.rate_limit.messages, self.rate_limit.window_ms],
                )
            except RedisError as exc:
                log.warning("redis unavailable for reply cache and rate limit: %s", type(exc).__name__)
            else:
                return Admission(cached.decode("utf-8") if cached is not None else None, int(place))
        return Admission(None, self.local_windows.place(lead_key, sid))

    def cached_reply(self, sid: str) -> str | None:
        """The reply already sent for this provider SID, if Redis remembers it."""
        if self.redis is None:
            return None
        try:
            value = self.redis.get(_reply_key(sid))
        except RedisError as exc:
            log.warning("redis unavailable for reply cache: %s", type(exc).__name__)
            return None
        return value.decode("utf-8") if value is not None else None

    def remember_reply(self, sid: str, body: str) -> None:
        """Cache a reply so a retried webhook skips the database entirely."""
        if self.redis is None:
            return
        try:
            self.redis.set(_reply_key(sid), body.encode("utf-8"), ex=REPLY_TTL_SECONDS)
        except RedisError as exc:
            log.warning("redis unavailable for reply cache: %s", type(exc).__name__)

    def forget_replies(self, sids: list[str], call_sids: list[str], lead_key: str | None = None) -> None:
        """Drop the cached replies of these messages and of every turn of these calls, and the lead's
        rate-limit window (an erased lead's: the window is named by the phone hash and holds MessageSids)."""
        if lead_key is not None:
            self.local_windows.forget(lead_key)
        if self.redis is None or not (sids or call_sids or lead_key):
            return
        try:
            keys = [_reply_key(sid) for sid in sids]
            if lead_key is not None:
                keys.append(_rate_key(lead_key))
            # A voice turn retried with Twilio's idempotency token is cached under "<CallSid>:<turn>:<token>",
            # a key no stored row names: only a scan by the call's prefix finds it.
            for call_sid in call_sids:
                keys.extend(self.redis.scan_iter(match=_reply_key(f"{_glob_escape(call_sid)}:*"), count=500))
            if keys:
                self.redis.delete(*keys)
        except RedisError as exc:
            log.warning("redis unavailable to forget replies: %s", type(exc).__name__)

    @contextmanager
    def lead_lock(self, lead_key: str) -> Iterator[LockOutcome]:
        """Hold the lead's lock while processing; fall back to the DB row lock on failure."""
        started = time.perf_counter()
        lock = None
        timed_out = False
        if self.redis is not None:
            candidate = self.redis.lock(f"sdr:lock:{lead_key}", timeout=LOCK_EXPIRY_SECONDS, blocking_timeout=self.wait_timeout)
            try:
                if candidate.acquire():
                    lock = candidate
                else:
                    timed_out = True
                    log.warning("lead lock wait exceeded %.1fs; using the database lock", self.wait_timeout)
            except RedisError as exc:
                log.warning("redis unavailable for lead lock: %s", type(exc).__name__)
        outcome = LockOutcome(lock is not None, (time.perf_counter() - started) * 1000, timed_out)
        try:
            yield outcome
        finally:
            if lock is None:
                if outcome.reply is not None:
                    self.remember_reply(*outcome.reply)
            elif outcome.reply is not None and self._release_and_remember is not None:
                cache_key, body = outcome.reply
                try:
                    self._release_and_remember(keys=[lock.name, _reply_key(cache_key)],
                                               args=[lock.local.token, body.encode("utf-8"), REPLY_TTL_SECONDS])
                except RedisError as exc:
                    # Redis gone: the lock expires by itself, and the database answers retries.
                    log.warning("lead lock release failed: %s", type(exc).__name__)
            else:
                try:
                    lock.release()
                except (LockError, RedisError) as exc:
                    # Expired or Redis gone: the DB transaction already serialised the work.
                    log.warning("lead lock release failed: %s", type(exc).__name__)


def _reply_key(sid: str) -> str:
    return f"sdr:reply:{sid}"


def _rate_key(lead_key: str) -> str:
    return f"sdr:rate:{lead_key}"


def _glob_escape(text: str) -> str:
    """`text` matched literally by a Redis SCAN pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)
