"""/simulator: a chat page that plays a lead through the real, signed WhatsApp webhook."""
from __future__ import annotations

import secrets

from flask import Blueprint, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue

from ..phone import InvalidPhoneNumber, to_e164
from ..simulator import OPENING_LINES, WebhookClient
from .security import csrf

bp = Blueprint("simulator", __name__)

MAX_TEXT_CHARS = 1600


@bp.get("/simulator")
def page() -> ResponseReturnValue:
    """The chat page, with a fresh random phone number."""
    phone = f"+55119{secrets.randbelow(10**8):08d}"
    return render_template("simulator.html", phone=phone, opening_lines=OPENING_LINES)


@bp.post("/simulator/send")
def send() -> ResponseReturnValue:
    """Sign the lead's message like Twilio and post it to /twilio/whatsapp; answer the bot's replies."""
    csrf.protect()
    payload = request.get_json(silent=True) or {}
    text = str(payload.get("text") or "").strip()[:MAX_TEXT_CHARS]
    if not text:
        return jsonify(error="Type a message first."), 400
    try:
        phone = to_e164(str(payload.get("phone") or ""))
    except InvalidPhoneNumber:
        return jsonify(error="That is not a valid phone number."), 400
    # In-process dispatch keeps the path real (signature check, parsing, conversation
    # service, TwiML) without a second HTTP hop that could starve gunicorn's threads.
    client = WebhookClient(current_app._get_current_object())  # type: ignore[attr-defined]
    try:
        replies = client.send_whatsapp(phone, text)
    except RuntimeError as exc:
        return jsonify(error=str(exc)), 502
    return jsonify(phone=phone, replies=replies)
