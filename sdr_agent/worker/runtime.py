"""The app that background jobs run against (set by create_app; jobs are plain functions)."""
from __future__ import annotations

from flask import Flask

_app: Flask | None = None


def set_app(app: Flask) -> None:
    """Make `app` the one jobs of this process use."""
    global _app
    _app = app


def get_app() -> Flask:
    """The app jobs use; creating it from the environment if this process has none yet."""
    global _app
    if _app is None:
        from .. import create_app

        _app = create_app()
    return _app
