"""Dashboard security: server-side operator sessions, CSRF tokens and attempt limits."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import Flask, Response, current_app, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import delete, select

from ..config import Settings
from ..models import OperatorSession, utcnow
from .throttle import Throttle

SESSION_KEY = "sdr_operator"
PASSWORD_KEY = "sdr_password"
SESSION_HOURS = 12
# Five wrong passwords a minute, then twenty an hour: a client that keeps guessing waits longer.
LOGIN_LIMITS = "5/minute;20/hour"
LOGIN_THROTTLE_KEY = "sdr_login_throttle"

csrf = CSRFProtect()


def init_security(app: Flask, settings: Settings) -> None:
    """Configure sessions, CSRF and the login throttle for this app."""
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
    # Redis shares the counts between gunicorn workers; without it, or while it is down, memory does.
    app.extensions[LOGIN_THROTTLE_KEY] = Throttle("login", LOGIN_LIMITS, settings.redis_url)


def login_throttle() -> Throttle:
    """The app's login throttle."""
    return current_app.extensions[LOGIN_THROTTLE_KEY]


def client_address() -> str:
    """The client's address: the socket's, or what exactly SDR_PROXY_HOPS trusted proxies reported."""
    return request.remote_addr or "unknown"


def password_matches(candidate: str) -> bool:
    """Constant-time comparison with ADMIN_PASSWORD; always False when it is unset."""
    expected = current_app.extensions["sdr_settings"].admin_password
    if not expected:
        return False
    return hmac.compare_digest(candidate.encode("utf-8"), expected.encode("utf-8"))


def log_in() -> None:
    """Start a fresh operator session: a new cookie (so a planted one is worthless) naming a server-side row."""
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(hours=SESSION_HOURS)
    with current_app.extensions["sdr_session_factory"].begin() as db_session:
        db_session.execute(delete(OperatorSession).where(OperatorSession.expires_at < utcnow()))
        db_session.add(OperatorSession(id=_row_id(token), expires_at=expires_at))
    session.clear()
    session.permanent = True
    session[SESSION_KEY] = token
    session[PASSWORD_KEY] = _password_fingerprint()


def log_out() -> None:
    """End the operator session on the server too: a copy of the cookie is worthless afterwards."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        with current_app.extensions["sdr_session_factory"].begin() as db_session:
            db_session.execute(delete(OperatorSession).where(OperatorSession.id == _row_id(token)))
    session.clear()


def is_operator() -> bool:
    """Whether this request comes from a live operator session under the current ADMIN_PASSWORD."""
    if "sdr_is_operator" not in g:
        g.sdr_is_operator = _session_is_live()
    return bool(g.sdr_is_operator)


def _session_is_live() -> bool:
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not current_app.extensions["sdr_settings"].admin_password:
        return False
    # A new ADMIN_PASSWORD ends every session signed under the old one.
    if not hmac.compare_digest(str(session.get(PASSWORD_KEY, "")), _password_fingerprint()):
        return False
    with current_app.extensions["sdr_session_factory"]() as db_session:
        expires_at = db_session.scalar(select(OperatorSession.expires_at).where(OperatorSession.id == _row_id(token)))
    return expires_at is not None and expires_at > utcnow()


def _row_id(token: str) -> str:
    """What the database keeps of a session token: its hash, so a copy of the table logs nobody in."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def _password_fingerprint() -> str:
    """A keyed digest of ADMIN_PASSWORD: the cookie holds this, never the password."""
    settings = current_app.extensions["sdr_settings"]
    message = (settings.admin_password or "").encode("utf-8")
    return hmac.new(settings.secret_key.encode("utf-8"), message, hashlib.sha256).hexdigest()[:32]


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
    """Where to go after login: only paths inside the dashboard or the simulator, never another site."""
    if target and target.startswith(("/admin", "/simulator")) and not target.startswith("//"):
        return target
    return url_for("admin.overview")


def no_store(response: Response) -> Response:
    """after_request: dashboard pages hold personal data, so no browser or proxy cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response
