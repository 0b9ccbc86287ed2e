"""A WSGI app for tests: the service preloaded as gunicorn.conf.py loads it, answering how many of the
master's objects a worker found frozen, out of the collector's reach."""
from __future__ import annotations

import gc
from typing import Any, Callable, Iterable

import app as service  # noqa: F401 - loaded in the master, as production preloads it


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Any path: the worker's count of frozen objects."""
    body = str(gc.get_freeze_count()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
