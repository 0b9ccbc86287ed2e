"""Dashboard security: operator session, CSRF tokens and login rate limiting."""
from __future__ import annotations

import hmac
from datetime import timedelta

from flask import Flask, Response, current_app, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from ..config import Settings

SESSION_KEY = "sdr_operator"
SESSION_HOURS = 12
LOGIN_LIMIT = "5 per minute"
LIMITER_KEY = "sdr_login_limiter"

csrf = CSRFProtect()


def init_security(app: Flask, settings: Settings) -> Limiter:
    """Configure sessions, CSRF and the login limiter for this app; returns the limiter."""
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=not settings.is_development,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=SESSION_HOURS),
        # CSRF is checked by the dashboard and simulator blueprints themselves, so Twilio's
        # webhooks (and any future machine-to-machine endpoint) are never subject to it.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=SESSION_HOURS * 3600,
    )
    csrf.init_app(app)
    # One limiter per app (Flask-Limiter keeps its storage on the instance). Redis shares
    # the counts between gunicorn workers; without it, or while it is down, memory does.
    limiter = Limiter(
        key_func=get_remote_address,
        storage_uri=settings.redis_url or "memory://",
        storage_options={"socket_timeout": 2, "socket_connect_timeout": 2} if settings.redis_url else {},
        in_memory_fallback_enabled=True,
        key_prefix="sdr:login-limit",
        default_limits=[],
        strategy="moving-window",
    )
    limiter.init_app(app)
    app.extensions[LIMITER_KEY] = limiter
    return limiter


def password_matches(candidate: str) -> bool:
    """Constant-time comparison with ADMIN_PASSWORD; always False when it is unset."""
    expected = current_app.extensions["sdr_settings"].admin_password
    if not expected:
        return False
    return hmac.compare_digest(candidate.encode("utf-8"), expected.encode("utf-8"))


def log_in() -> None:
    """Start a fresh operator session (a new cookie, so a planted one is worthless)."""
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = True


def log_out() -> None:
    """Forget the operator session."""
    session.clear()


def is_operator() -> bool:
    """Whether this request comes from a logged-in operator."""
    return bool(session.get(SESSION_KEY))


def require_operator() -> ResponseReturnValue | None:
    """before_request guard: anonymous requests go to the login page, state changes need CSRF."""
    if not is_operator():
        if request.method in ("GET", "HEAD"):
            return redirect(url_for("admin_auth.login", next=request.full_path.rstrip("?")))
        return ("401 Unauthorized: log in at /admin/login\n", 401, {"Content-Type": "text/plain"})
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    return None


def safe_next(target: str | None) -> str:
    """Where to go after login: only paths inside the dashboard, never another site."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.overview")


def no_store(response: Response) -> Response:
    """after_request: dashboard pages hold personal data, so no browser or proxy cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response
