"""The hot path stays small: SQL statements and Redis commands per message, counted for real."""
from __future__ import annotations

import threading
from typing import Callable, Iterator

import pytest
import redis
from flask import Flask
from sqlalchemy import event
from werkzeug.test import TestResponse

from sdr_agent.extensions import db
from tests.conftest import BACKEND_MATRIX

PHONE = "+5511933330000"
MAX_SQL_PER_MESSAGE = 6
MAX_REDIS_PER_MESSAGE = 5


class StatementCounter:
    """Counts statements the app's engine sends to the database."""

    def __init__(self, app: Flask) -> None:
        with app.app_context():
            self.engine = db.engine
        self.statements: list[str] = []
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        verb = statement.split()[0].upper()
        if verb != "BEGIN":  # SQLite's explicit BEGIN IMMEDIATE; PostgreSQL's BEGIN is implicit
            self.statements.append(verb)

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


@pytest.fixture
def sql(app: Flask) -> Iterator[StatementCounter]:
    counter = StatementCounter(app)
    yield counter
    counter.close()


class RedisCommandLog:
    """Commands clients send to the Redis server, seen through MONITOR (script internals excluded)."""

    SENTINEL = "end-of-count"

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.client.ping()  # connect now, so its handshake is not counted
        self.commands: list[str] = []
        self._monitor = redis.Redis.from_url(url).monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        for entry in self._monitor.listen():
            if self.SENTINEL in entry["command"]:
                return
            if entry.get("client_type") != "lua":
                self.commands.append(entry["command"].split()[0].upper())

    def stop(self) -> list[str]:
        """Stop watching and return what was seen."""
        self.client.echo(self.SENTINEL)
        self._thread.join(timeout=5)
        self._monitor.__exit__(None, None, None)
        self.client.close()
        return self.commands


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
        assert commands == ["GET", "SET", "EVALSHA", "SET"]
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
