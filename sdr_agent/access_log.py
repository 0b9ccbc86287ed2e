"""gunicorn's access log without what an access log must not keep: query strings and link tokens."""
from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

# /bookings/<token>.ics: the token is the only key to a lead's meeting file.
_TOKEN_PATHS = re.compile(r"^(/bookings/)[^/]+(\.ics)$")


def loggable_path(path: str) -> str:
    """The request path with link tokens masked (the query string is never passed in)."""
    return _TOKEN_PATHS.sub(r"\1…\2", path)


class PathOnlyLogger(Logger):
    """Access lines carry the method and the path only: operators search the dashboard by name,
    e-mail and phone, and those land in query strings."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        """gunicorn's atoms with the request line, URL and query reduced to a masked path."""
        atoms = super().atoms(resp, req, environ, request_time)
        path = loggable_path(environ.get("PATH_INFO", ""))
        atoms["U"] = path
        atoms["q"] = ""
        atoms["r"] = f"{environ.get('REQUEST_METHOD', '-')} {path} {environ.get('SERVER_PROTOCOL', '-')}"
        atoms["f"] = "-"  # the Referer holds a full dashboard URL, query string included
        return atoms
