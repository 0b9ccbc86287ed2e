"""Engine options per database, chosen for a webhook that must answer fast or fail fast."""
from __future__ import annotations

import select
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError


def engine_options(url: str) -> dict[str, Any]:
    """SQLAlchemy engine options for this URL."""
    # Bound parameters (a search term, a lead's phone) stay out of exception messages, and so out
    # of logs and error events; the statement with its placeholders is enough to find the bug.
    if make_url(url).get_backend_name() == "sqlite":
        # Writers wait for each other instead of failing with "database is locked".
        return {"connect_args": {"timeout": 30}, "hide_parameters": True}
    return {
        "hide_parameters": True,
        # No pre-ping: `discard_closed_connections` finds the connections a restart closed without a
        # round trip (a pre-ping is a `SELECT 1` before every transaction, on the server too).
        # Ten connections per worker kept open, as many as before at peak (5 + 5 overflow): an overflow
        # connection is closed on return, so under load the server started a process every few dozen
        # messages, and that start cost more CPU than the messages themselves.
        "pool_size": 10,
        "max_overflow": 0,
        "pool_timeout": 5,
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": 3},
    }


def discard_closed_connections(engine: Engine) -> None:
    """Replace, on checkout, a pooled PostgreSQL connection the server has closed.

    A restarted (or crashed) server ends every session: each idle pooled connection then has the
    server's goodbye or end-of-file waiting on its socket. An idle connection with nothing pending
    has nothing to read, so a readable socket means the connection is gone: a poll with no wait
    finds it, where a pre-ping would send a query. A restarted PostgreSQL must not cost a failed request.
    """
    if engine.dialect.name != "postgresql":
        return

    @event.listens_for(engine, "checkout")
    def _discard_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if _server_hung_up(dbapi_connection):
            # The pool replaces this connection with a new one and tries again.
            raise DisconnectionError("PostgreSQL closed the pooled connection")


def _server_hung_up(dbapi_connection: Any) -> bool:
    """True when the idle connection is closed, or the server has sent it something unasked (its goodbye)."""
    if dbapi_connection.closed:
        return True
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


def serialise_sqlite_writers(engine: Engine) -> None:
    """Make every SQLite transaction BEGIN IMMEDIATE.

    pysqlite's deferred BEGIN lets two transactions read and then both try to write,
    one failing with a busy error; taking the write lock up front queues them instead.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _disable_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
