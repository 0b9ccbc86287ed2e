"""The model's circuit breaker: opens after repeated failures, closes by itself, shared by workers through Redis."""
from __future__ import annotations

import time

import pytest
import redis

from sdr_agent.understanding.breaker import CircuitBreaker
from tests.conftest import flushed_redis


@pytest.fixture(params=["redis", "absent"])
def client(request: pytest.FixtureRequest) -> redis.Redis | None:
    if request.param == "absent":
        return None
    return redis.Redis.from_url(flushed_redis(request.getfixturevalue("redis_server_url")))


def test_opens_after_the_threshold_and_closes_by_itself(client: redis.Redis | None) -> None:
    breaker = CircuitBreaker(client, threshold=3, window_ms=5000, cooldown_ms=300)
    assert [breaker.failed() for _ in range(3)] == [False, False, True]
    assert not breaker.allows()
    time.sleep(0.35)
    assert breaker.allows()


def test_a_success_forgets_earlier_failures(client: redis.Redis | None) -> None:
    breaker = CircuitBreaker(client, threshold=3, window_ms=5000, cooldown_ms=300)
    breaker.failed()
    breaker.failed()
    breaker.succeeded()
    assert not breaker.failed() and breaker.allows()


def test_failures_outside_the_window_do_not_count(client: redis.Redis | None) -> None:
    breaker = CircuitBreaker(client, threshold=2, window_ms=200, cooldown_ms=1000)
    breaker.failed()
    time.sleep(0.25)
    assert not breaker.failed() and breaker.allows()


def test_workers_share_one_circuit_through_redis(redis_server_url: str) -> None:
    url = flushed_redis(redis_server_url)
    web, worker = (CircuitBreaker(redis.Redis.from_url(url), threshold=2, cooldown_ms=5000) for _ in range(2))
    web.failed()
    assert worker.failed()  # the second failure anywhere opens it
    assert not web.allows() and not worker.allows()


def test_without_reachable_redis_it_still_works_in_process() -> None:
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    breaker = CircuitBreaker(unreachable, threshold=2, cooldown_ms=5000)
    breaker.failed()
    assert breaker.failed() and not breaker.allows()
