"""POST /twilio/whatsapp: Twilio's inbound WhatsApp webhook."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.datastructures import MultiDict

from ..messages import InboundMessage, Outcome
from .form import SID_CHARS, clean_field, message_sid, sender_phone
from .signature import twilio_signed
from .twiml import messaging_reply

bp = Blueprint("whatsapp", __name__)

MAX_MEDIA = 10  # WhatsApp allows one media item per message; anything beyond this is noise
MAX_FIELD_CHARS = 4096


@bp.post("/twilio/whatsapp")
@twilio_signed
def inbound() -> Response:
    """Answer one inbound WhatsApp message with TwiML."""
    message = parse_inbound(request.form)
    reply = current_app.extensions["sdr_conversation"].handle(message, render_whatsapp)
    return Response(reply.body, mimetype="text/xml")


def render_whatsapp(outcome: Outcome) -> str:
    """The reply texts as <Message> elements."""
    return messaging_reply(outcome.texts)


def parse_inbound(form: MultiDict[str, str]) -> InboundMessage:
    """Turn Twilio's form into an InboundMessage, or abort 400 naming what is wrong."""
    sid = message_sid(form)
    if not clean_field(form.get("From"), SID_CHARS):
        abort(400, description="missing From")
    phone = sender_phone(form)
    if phone is None:
        abort(400, description="From is not a valid phone number")
    return InboundMessage(
        sid=sid,
        phone=phone,
        channel="whatsapp",
        text=clean_field(form.get("Body"), MAX_FIELD_CHARS),
        profile_name=clean_field(form.get("ProfileName"), 120) or None,
        button_payload=clean_field(form.get("ButtonPayload") or form.get("ButtonText"), 256) or None,
        media=_media(form),
        location=_location(form),
    )


def _media(form: MultiDict[str, str]) -> tuple[dict[str, str], ...]:
    try:
        count = min(int(form.get("NumMedia") or 0), MAX_MEDIA)
    except ValueError:
        count = 0
    items = []
    for index in range(max(count, 0)):
        url = clean_field(form.get(f"MediaUrl{index}"), 1024)
        if url:
            items.append({"url": url, "content_type": clean_field(form.get(f"MediaContentType{index}"), 128)})
    return tuple(items)


def _location(form: MultiDict[str, str]) -> dict[str, Any] | None:
    try:
        latitude = float(form["Latitude"])
        longitude = float(form["Longitude"])
    except (KeyError, ValueError):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return {
        "latitude": latitude,
        "longitude": longitude,
        "address": clean_field(form.get("Address"), 512) or None,
        "label": clean_field(form.get("Label"), 256) or None,
    }
