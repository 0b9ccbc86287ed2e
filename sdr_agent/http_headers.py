"""Security headers on every response: what a browser may load, frame, sniff or remember."""
from __future__ import annotations

from flask import Flask, Response

from .config import Settings

# The pages load only their own stylesheet and the simulator's script, and post only to
# themselves; nothing inline, so an injected tag or handler cannot run even if escaping failed.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
))
HSTS_SECONDS = 365 * 24 * 3600


def security_headers(settings: Settings) -> dict[str, str]:
    """The headers every response carries in this environment."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        # Flask-WTF's CSRF check on https compares the Referer with our own host, so the browser
        # must send it to us; other sites still get nothing.
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if not settings.is_development:
        # Only a deployment is served over https; locally the header would pin localhost to it.
        headers["Strict-Transport-Security"] = f"max-age={HSTS_SECONDS}"
    return headers


def init_security_headers(app: Flask, settings: Settings) -> None:
    """Add the security headers to every response the app sends (a view may set its own)."""
    headers = security_headers(settings)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
