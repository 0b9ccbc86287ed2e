"""SQL expressions whose spelling differs between SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class seconds_between(FunctionElement[float]):  # noqa: N801 - reads like the SQL function it builds
    """Seconds from the first timestamp to the second (may be negative)."""

    type = Float()
    inherit_cache = True


class utc_day(FunctionElement[str]):  # noqa: N801 - reads like the SQL function it builds
    """The UTC calendar day of a timestamp as 'YYYY-MM-DD'."""

    type = String()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    # SQLite stores the UTC timestamps as ISO text; julianday() reads it in days.
    return f"((julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)}))"


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"date({compiler.process(value, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    # Without AT TIME ZONE the day would follow the connection's time zone setting.
    return f"to_char({compiler.process(value, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
