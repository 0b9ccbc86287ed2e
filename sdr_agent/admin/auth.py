"""/admin/login: the one dashboard page open to anonymous visitors (its attempts are throttled)."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request
from flask.typing import ResponseReturnValue

from .security import client_address, csrf, is_operator, log_in, login_throttle, password_matches, safe_next

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
    # Counted before the password is looked at, so a burst of parallel guesses cannot slip past the count.
    wait = login_throttle().attempt(client_address())
    if wait is not None:
        error = f"Too many attempts. Wait {_minutes(wait)} and try again."
        return render_template("admin/login.html", next_url=None, error=error), 429, {"Retry-After": str(int(wait))}
    if not password_matches(request.form.get("password", "")):
        return render_template("admin/login.html", next_url=next_url, error="Wrong password."), 401
    login_throttle().forgive(client_address())
    log_in()
    return redirect(safe_next(next_url), code=303)


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"
