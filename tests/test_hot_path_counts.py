"""The hot path stays small: SQL statements and Redis commands per message, counted for real."""
from __future__ import annotations

from typing import Callable, Iterator

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from bench.counters import RedisCommandLog, StatementCounter
from sdr_agent.extensions import db
from tests.conftest import BACKEND_MATRIX

PHONE = "+5511933330000"
MAX_SQL_PER_MESSAGE = 6
MAX_REDIS_PER_MESSAGE = 5


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

    assert sql.statements == ["SELECT", "SELECT", "INSERT", "INSERT", "UPDATE"]
    assert len(sql.statements) <= MAX_SQL_PER_MESSAGE
    if watcher is not None:
        commands = watcher.stop()
        assert commands == ["EVALSHA", "SET", "EVALSHA", "SET"]
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
