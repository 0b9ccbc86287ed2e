"""Twilio webhook signature check, against the URL Twilio actually called."""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar, cast

from flask import Request, abort, current_app, request

from .. import telemetry
from .refusals import RefusalAlarm
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    compare,
    get_signature_algorithm,
)

F = TypeVar("F", bound=Callable[..., Any])


def public_url(req: Request, public_base_url: str | None) -> str:
    """The URL Twilio signed: PUBLIC_BASE_URL + path (always set outside development), else, locally
    behind a tunnel, the request URL as the tunnel saw it."""
    query = req.query_string.decode("latin-1")
    path = req.path + (f"?{query}" if query else "")
    if public_base_url:
        return public_base_url + path
    # Behind Render's proxy the request arrives as plain http on an internal host.
    scheme = _first(req.headers.get("X-Forwarded-Proto")) or req.scheme
    host = _first(req.headers.get("X-Forwarded-Host")) or req.host
    return f"{scheme}://{host}{path}"


def is_valid_signature(req: Request, auth_token: str, public_base_url: str | None) -> bool:
    """True when X-Twilio-Signature matches the URL and the form parameters."""
    signature = req.headers.get(SIGNATURE_HEADER)
    if not signature:
        return False
    algorithm = get_signature_algorithm(req.headers.get(SIGNATURE_SETTINGS_HEADER))
    validator = _validator(auth_token)
    url = public_url(req, public_base_url)
    # validate() always signs the URL twice (with and without the port); the URL as configured is
    # what Twilio signs, so try it alone first and leave the variants to validate() on a mismatch.
    try:
        if compare(validator.compute_signature(url, req.form, algorithm), signature):
            return True
    except ValueError:
        pass  # an algorithm this SDK does not know: validate() logs it and refuses
    return validator.validate(url, req.form, signature, algorithm)


@functools.lru_cache(maxsize=4)
def _validator(auth_token: str) -> RequestValidator:
    """One validator per token (a process has one or two), not one per request."""
    return RequestValidator(auth_token)


def twilio_signed(view: F) -> F:
    """Reject the request with 403 unless Twilio signed it."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        settings = current_app.extensions["sdr_settings"]
        if not is_valid_signature(request, settings.twilio_auth_token, settings.public_base_url):
            _count_refusal(request, settings.public_base_url)
            abort(403, description="invalid Twilio signature")
        # A request signed with our token but for another account is a misrouted or replayed one.
        account = request.form.get("AccountSid")
        if settings.twilio_account_sid and not account:
            abort(400, description="missing AccountSid")
        if settings.twilio_account_sid and account != settings.twilio_account_sid:
            abort(403, description="AccountSid is not TWILIO_ACCOUNT_SID")
        return view(*args, **kwargs)

    return cast(F, wrapper)


def _count_refusal(req: Request, public_base_url: str | None) -> None:
    """Metric for every refusal; a warning with the URL that was validated once a route passes the threshold."""
    alarm: RefusalAlarm = current_app.extensions["sdr_refusals"]
    route = req.url_rule.rule if req.url_rule is not None else req.path
    count, warn = alarm.refused(route)
    telemetry.signature_refused(route, public_url(req, public_base_url), count, warn)


def _first(header: str | None) -> str | None:
    """First value of a comma-separated proxy header (the client-facing hop)."""
    if not header:
        return None
    return header.split(",")[0].strip() or None
