"""Engine options per database, chosen for a webhook that must answer fast or fail fast."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url


def engine_options(url: str) -> dict[str, Any]:
    """SQLAlchemy engine options for this URL."""
    # Bound parameters (a search term, a lead's phone) stay out of exception messages, and so out
    # of logs and error events; the statement with its placeholders is enough to find the bug.
    if make_url(url).get_backend_name() == "sqlite":
        # Writers wait for each other instead of failing with "database is locked".
        return {"connect_args": {"timeout": 30}, "hide_parameters": True}
    return {
        "hide_parameters": True,
        "pool_pre_ping": True,  # a restarted PostgreSQL must not cost a failed request
        "pool_size": 5,
        "max_overflow": 5,
        "pool_timeout": 5,
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": 3},
    }


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
