"""/simulator: a chat page that plays a lead through the real, signed WhatsApp webhook.

Operators only, and only with numbers the page made up for this operator's session: otherwise
anyone could speak as a real lead (read its booking, reschedule it, opt it out).
"""
from __future__ import annotations

import secrets

from flask import Blueprint, current_app, jsonify, render_template, request, session
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from ..models import Lead
from ..simulator import OPENING_LINES, WebhookClient
from .security import client_address, no_store, require_operator
from .throttle import Throttle

bp = Blueprint("simulator", __name__)
bp.before_request(require_operator)
bp.after_request(no_store)

MAX_TEXT_CHARS = 1600
PHONES_KEY = "sdr_simulator_phones"
PHONES_KEPT = 20  # the newest numbers this session may still play
SEND_LIMITS = "30/minute;300/hour"
THROTTLE_KEY = "sdr_simulator_throttle"


@bp.record_once
def _create_throttle(state: object) -> None:
    app = state.app  # type: ignore[attr-defined]
    app.extensions[THROTTLE_KEY] = Throttle("simulator", SEND_LIMITS, app.extensions["sdr_settings"].redis_url)


@bp.get("/simulator")
def page() -> ResponseReturnValue:
    """The chat page, with a new made-up phone number that no lead has."""
    phone = _new_phone()
    session[PHONES_KEY] = [*session.get(PHONES_KEY, [])[-(PHONES_KEPT - 1):], phone]
    return render_template("simulator.html", phone=phone, opening_lines=OPENING_LINES)


@bp.post("/simulator/send")
def send() -> ResponseReturnValue:
    """Sign the lead's message like Twilio and post it to /twilio/whatsapp; answer the bot's replies."""
    wait = current_app.extensions[THROTTLE_KEY].attempt(client_address())
    if wait is not None:
        return jsonify(error=f"Too many messages: wait {int(wait)} s."), 429, {"Retry-After": str(int(wait))}
    payload = request.get_json(silent=True) or {}
    text = str(payload.get("text") or "").strip()[:MAX_TEXT_CHARS]
    if not text:
        return jsonify(error="Type a message first."), 400
    phone = str(payload.get("phone") or "")
    if phone not in session.get(PHONES_KEY, []):
        return jsonify(error="The simulator plays only the numbers it made up: reload the page for a new lead."), 403
    # In-process dispatch keeps the path real (signature check, parsing, conversation
    # service, TwiML) without a second HTTP hop that could starve gunicorn's threads.
    client = WebhookClient(current_app._get_current_object())  # type: ignore[attr-defined]
    try:
        replies = client.send_whatsapp(phone, text)
    except RuntimeError as exc:
        return jsonify(error=str(exc)), 502
    return jsonify(phone=phone, replies=replies)


def _new_phone() -> str:
    """A random São Paulo mobile number that is not any lead's (a clash is one in a hundred million)."""
    with current_app.extensions["sdr_session_factory"]() as db_session:
        while True:
            phone = f"+55119{secrets.randbelow(10**8):08d}"
            if db_session.scalar(select(Lead.id).where(Lead.phone == phone)) is None:
                return phone
