"""Redis fast paths for the hot path: cached replies and per-lead locks.

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

log = logging.getLogger(__name__)

REPLY_TTL_SECONDS = 3600  # Twilio retries within minutes; an hour is plenty
LOCK_EXPIRY_SECONDS = 15  # longer than any message takes; frees the lock if a worker dies


@dataclass
class LockOutcome:
    """How taking a lead's lock went."""

    acquired: bool
    waited_ms: float
    timed_out: bool = False  # another message held the lock for the whole wait


class LeadGate:
    """Reply cache and per-lead lock on Redis, or nothing when Redis is absent or down."""

    def __init__(self, redis: Redis | None, wait_timeout: float) -> None:
        self.redis = redis
        self.wait_timeout = wait_timeout

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

    def forget_replies(self, sids: list[str], call_sids: list[str]) -> None:
        """Drop the cached replies of these messages and of every turn of these calls (an erased lead's)."""
        if self.redis is None or not (sids or call_sids):
            return
        try:
            keys = [_reply_key(sid) for sid in sids]
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
            if lock is not None:
                try:
                    lock.release()
                except (LockError, RedisError) as exc:
                    # Expired or Redis gone: the DB transaction already serialised the work.
                    log.warning("lead lock release failed: %s", type(exc).__name__)


def _reply_key(sid: str) -> str:
    return f"sdr:reply:{sid}"


def _glob_escape(text: str) -> str:
    """`text` matched literally by a Redis SCAN pattern."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)
