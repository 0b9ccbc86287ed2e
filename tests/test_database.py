"""Pooled PostgreSQL connections: one the server closed is replaced on checkout, without a query to find out."""
from __future__ import annotations

import time
from typing import Callable

import pytest
from flask import Flask
from sqlalchemy import Engine, create_engine, text
from werkzeug.test import TestResponse

from sdr_agent.extensions import db

PHONE = "+5511944440000"
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _engine(app: Flask) -> Engine:
    with app.app_context():
        return db.engine


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_pooled_connection_the_server_ended_is_replaced_on_checkout(app: Flask, database_url: str,
                                                                      send: Callable[..., TestResponse]) -> None:
    engine = _engine(app)
    pid = _backend_pid(engine)
    assert _backend_pid(engine) == pid  # the pool hands the same connection back
    # What a restart does to every session: the server ends it while it idles in the pool.
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        assert connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        # The signal is only sent: wait for the backend to be gone, as a restart is before anyone connects.
        deadline = time.monotonic() + 5
        alive = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
        while connection.execute(alive, {"pid": pid}).scalar_one():
            assert time.monotonic() < deadline, "the backend did not end"
            time.sleep(0.01)
    admin.dispose()

    assert _backend_pid(engine) != pid  # a new connection, and no error for whoever checked it out
    assert send(PHONE, "Oi").status_code == 200


def test_a_live_pooled_connection_is_kept(app: Flask, send: Callable[..., TestResponse]) -> None:
    engine = _engine(app)
    pid = _backend_pid(engine)
    assert send(PHONE, "Oi").status_code == 200
    assert _backend_pid(engine) == pid
