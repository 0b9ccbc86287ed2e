"""Refuse oversized request bodies before anything reads them."""
from __future__ import annotations

from flask import Flask, abort, request


def init_request_size_limit(app: Flask, max_bytes: int) -> None:
    """Answer 413 to a declared body over `max_bytes` before any view, signature check or form parser runs.

    A chunked body has no declared length: Werkzeug's `MAX_CONTENT_LENGTH` stops reading it at
    the limit and answers 413 as well, so nothing larger is ever buffered.
    """
    app.config["MAX_CONTENT_LENGTH"] = max_bytes

    @app.before_request
    def refuse_declared_oversize() -> None:
        if request.content_length is not None and request.content_length > max_bytes:
            abort(413, description=f"the body is larger than {max_bytes} bytes")
