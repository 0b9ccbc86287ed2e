"""The hot path stays small: SQL statements and Redis commands per message, counted for real."""
from __future__ import annotations

from typing import Callable, Iterator

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from bench.counters import RedisCommandLog, StatementCounter
from sdr_agent.extensions import db
from tests.conftest import BACKEND_MATRIX, base_config

PHONE = "+5511933330000"
MAX_SQL_PER_MESSAGE = 6
MAX_REDIS_PER_MESSAGE = 5


@pytest.fixture
def rate_limit_messages() -> str:
    """SDR_RATE_LIMIT_MESSAGES of the app (the default unless a test parametrizes it)."""
    return "20"


@pytest.fixture
def app_config(database_url: str, redis_url: str | None, rate_limit_messages: str) -> dict[str, str]:
    return base_config(database_url, redis_url, SDR_RATE_LIMIT_MESSAGES=rate_limit_messages)


@pytest.fixture
def sql(app: Flask) -> Iterator[StatementCounter]:
    with app.app_context():
        counter = StatementCounter(db.engine)
    yield counter
    counter.close()


@BACKEND_MATRIX
def test_a_message_in_mid_flow_costs_few_statements(
    app: Flask, send: Callable[..., TestResponse], sql: StatementCounter, redis_url: str | None
) -> None:
    for text in ["Oi", "sim", "Ana Souza", "Acme"]:
        send(PHONE, text)
    watcher = RedisCommandLog(redis_url) if redis_url else None
    sql.statements.clear()

    assert send(PHONE, "1").status_code == 200  # the role question, mid-flow

    # PostgreSQL writes the turn in one statement: the lead's UPDATE with the messages and stage events
    # inserted by its WITH; SQLite, which has no INSERT in a WITH, in one statement per table.
    writes = ["WITH"] if sql.engine.dialect.name == "postgresql" else ["INSERT", "INSERT", "UPDATE"]
    if redis_url:
        # Under the Redis lock one SELECT locks the lead row and reads any stored reply for the SID.
        assert sql.statements == ["SELECT", *writes]
    else:
        # Ordered by the row lock alone, the retry check is a statement of its own, after the lock.
        assert sql.statements == ["SELECT", "SELECT", *writes]
    assert len(sql.statements) <= MAX_SQL_PER_MESSAGE
    if watcher is not None:
        commands = watcher.stop()
        # Reply cache and rate count; the lock; its release together with caching the reply.
        assert commands == ["EVALSHA", "SET", "EVALSHA"]
        assert len(commands) <= MAX_REDIS_PER_MESSAGE


@BACKEND_MATRIX
def test_a_retried_message_costs_at_most_the_lookup(app: Flask, send: Callable[..., TestResponse], sql: StatementCounter) -> None:
    send(PHONE, "Oi", sid="SM" + "1" * 32)
    sql.statements.clear()
    send(PHONE, "Oi", sid="SM" + "1" * 32)
    if app.extensions["sdr_redis"] is not None:
        assert sql.statements == []  # answered from the Redis reply cache
    else:
        assert sql.statements == ["SELECT", "SELECT"]  # lead row lock, stored reply


@pytest.mark.parametrize("rate_limit_messages", ["2"])
@BACKEND_MATRIX
def test_a_message_over_the_rate_limit_costs_less_than_a_processed_one(
    app: Flask, send: Callable[..., TestResponse], sql: StatementCounter, redis_url: str | None
) -> None:
    for text in ["Oi", "sim"]:
        send(PHONE, text)
    watcher = RedisCommandLog(redis_url) if redis_url else None
    sql.statements.clear()

    assert send(PHONE, "Ana Souza").status_code == 200  # the third message in the window: stored, not processed

    assert sql.statements == ["SELECT", "SELECT", "INSERT"]  # lead (no row lock), stored reply, the messages
    if watcher is not None:
        assert watcher.stop() == ["EVALSHA", "SET"]  # reply cache + count, then the reply cached
