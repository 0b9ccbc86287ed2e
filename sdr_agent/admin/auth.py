"""/admin/login: the one dashboard page open to anonymous visitors (rate-limited in init_admin)."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_limiter.errors import RateLimitExceeded

from .security import csrf, is_operator, log_in, password_matches, safe_next

bp = Blueprint("admin_auth", __name__, url_prefix="/admin")


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The password form; a good password starts an operator session."""
    next_url = request.values.get("next")
    if request.method == "GET":
        if is_operator():
            return redirect(safe_next(next_url))
        return render_template("admin/login.html", next_url=next_url, error=None)
    csrf.protect()
    if not password_matches(request.form.get("password", "")):
        return render_template("admin/login.html", next_url=next_url, error="Wrong password."), 401
    log_in()
    return redirect(safe_next(next_url), code=303)


@bp.errorhandler(RateLimitExceeded)
def too_many_attempts(_error: RateLimitExceeded) -> ResponseReturnValue:
    """Too many failed logins from this address: say so on the form."""
    return render_template("admin/login.html", next_url=None, error="Too many attempts. Wait a minute and try again."), 429
