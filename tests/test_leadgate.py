"""The lead lock's release and the reply cache share one round trip, against a real Redis."""
from __future__ import annotations

import time
from typing import Iterator

import pytest
import redis

from sdr_agent.leadgate import LOCK_EXPIRY_SECONDS, LeadGate

LEAD = "a" * 64


@pytest.fixture
def client(redis_server_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_server_url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


def test_releasing_the_lock_caches_the_remembered_reply(client: redis.Redis) -> None:
    gate = LeadGate(client, wait_timeout=1.0)
    with gate.lead_lock(LEAD) as lock:
        assert lock.acquired and client.exists(f"sdr:lock:{LEAD}")
        lock.remember("SM1", "<Response>olá</Response>")
        assert gate.cached_reply("SM1") is None  # not before the release

    assert not client.exists(f"sdr:lock:{LEAD}")
    assert gate.cached_reply("SM1") == "<Response>olá</Response>"
    assert 0 < client.ttl("sdr:reply:SM1") <= 3600
    # The next message of the lead takes the lock at once, not after its expiry.
    started = time.monotonic()
    with gate.lead_lock(LEAD) as lock:
        assert lock.acquired and lock.waited_ms < LOCK_EXPIRY_SECONDS * 1000
    assert time.monotonic() - started < 1.0


def test_a_lock_taken_over_after_expiry_is_left_to_its_new_holder(client: redis.Redis) -> None:
    gate = LeadGate(client, wait_timeout=1.0)
    with gate.lead_lock(LEAD) as lock:
        # Our lock expired and another message holds the lead now.
        client.set(f"sdr:lock:{LEAD}", b"someone-else")
        lock.remember("SM2", "<Response/>")

    assert client.get(f"sdr:lock:{LEAD}") == b"someone-else"
    assert gate.cached_reply("SM2") == "<Response/>"


def test_without_a_remembered_reply_the_lock_is_released_and_nothing_cached(client: redis.Redis) -> None:
    gate = LeadGate(client, wait_timeout=1.0)
    with gate.lead_lock(LEAD):
        pass
    assert not client.exists(f"sdr:lock:{LEAD}")
    assert client.keys("sdr:reply:*") == []


def test_without_redis_nothing_is_locked_or_cached() -> None:
    gate = LeadGate(None, wait_timeout=1.0)
    with gate.lead_lock(LEAD) as lock:
        lock.remember("SM3", "<Response/>")
        assert not lock.acquired
    assert gate.cached_reply("SM3") is None
