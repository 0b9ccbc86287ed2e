"""SQL expressions whose spelling differs between SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class utc_day(FunctionElement[str]):  # noqa: N801 - reads like the SQL function it builds
    """The UTC calendar day of a timestamp as 'YYYY-MM-DD'."""

    type = String()
    inherit_cache = True


@compiles(utc_day, "sqlite")
def _utc_day_sqlite(element: utc_day, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    return f"date({compiler.process(value, **kw)})"


@compiles(utc_day, "postgresql")
def _utc_day_postgresql(element: utc_day, compiler: Any, **kw: Any) -> str:
    (value,) = list(element.clauses)
    # Without AT TIME ZONE the day would follow the connection's time zone setting.
    return f"to_char({compiler.process(value, **kw)} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
