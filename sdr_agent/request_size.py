"""Refuse oversized request bodies before anything parses them."""
from __future__ import annotations

import io

from flask import Flask, abort, request


def init_request_size_limit(app: Flask, max_bytes: int) -> None:
    """Answer 413 to a body over `max_bytes` before any view, signature check or form parser runs."""
    app.config["MAX_CONTENT_LENGTH"] = max_bytes

    @app.before_request
    def refuse_oversized_body() -> None:
        if request.content_length is not None:
            if request.content_length > max_bytes:
                abort(413, description=f"the body is larger than {max_bytes} bytes")
            return
        if "wsgi.input_terminated" not in request.environ:
            return  # without a length or a server that ends the stream, Werkzeug reads no body at all
        # A chunked body declares no length. Werkzeug would stop reading it at the limit and
        # parse the truncated rest as if complete, so read one byte past the limit ourselves.
        body = request.environ["wsgi.input"].read(max_bytes + 1)
        if len(body) > max_bytes:
            abort(413, description=f"the body is larger than {max_bytes} bytes")
        request.environ["wsgi.input"] = io.BytesIO(body)
