"""Deterministic cost counters: SQL statements an engine sends and Redis commands a server sees."""
from __future__ import annotations

import threading

import redis
from sqlalchemy import Engine, event


class StatementCounter:
    """Counts statements an engine sends to the database, by leading verb."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []
        event.listen(self.engine, "before_cursor_execute", self._record)

    def _record(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        verb = statement.split()[0].upper()
        if verb != "BEGIN":  # SQLite's explicit BEGIN IMMEDIATE; PostgreSQL's BEGIN is implicit
            self.statements.append(verb)

    def close(self) -> None:
        """Stop counting."""
        event.remove(self.engine, "before_cursor_execute", self._record)


class RedisCommandLog:
    """Commands clients send to one Redis database, seen through MONITOR (script internals excluded).

    MONITOR sees the whole server, and other processes may share it: only commands on this
    URL's database number are kept.
    """

    SENTINEL = "end-of-count"

    def __init__(self, url: str) -> None:
        self.client = redis.Redis.from_url(url)
        self.client.ping()  # connect now, so its handshake is not counted
        self.db = int(self.client.connection_pool.connection_kwargs.get("db", 0))
        self.commands: list[str] = []
        self._monitor = redis.Redis.from_url(url).monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        for entry in self._monitor.listen():
            if self.SENTINEL in entry["command"]:
                return
            if entry.get("client_type") != "lua" and int(entry.get("db", self.db)) == self.db:
                self.commands.append(entry["command"].split()[0].upper())

    def stop(self) -> list[str]:
        """Stop watching and return what was seen."""
        self.client.echo(self.SENTINEL)
        self._thread.join(timeout=5)
        self._monitor.__exit__(None, None, None)
        self.client.close()
        return self.commands
