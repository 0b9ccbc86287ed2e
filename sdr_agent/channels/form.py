"""Reading Twilio's webhook form fields safely: trimmed, capped, never NUL."""
from __future__ import annotations

import re

from flask import abort
from werkzeug.datastructures import MultiDict

from ..phone import InvalidPhoneNumber, to_e164

SID_CHARS = 64
MESSAGE_SID_PREFIXES = ("SM", "MM")
CALL_SID_PREFIXES = ("CA",)
# Twilio's signature joins the parameters with no separator, so a captured request could be
# replayed as a new one by moving characters across a field boundary; well-formed SIDs stop that.
_SID = re.compile(r"[A-Z]{2}[0-9a-fA-F]{32}")


def twilio_sid(form: MultiDict[str, str], field: str, prefixes: tuple[str, ...]) -> str:
    """The SID in `field`, or abort 400 unless it is one of `prefixes` followed by 32 hex digits."""
    value = form.get(field) or ""
    if not value:
        abort(400, description=f"missing {field}")
    if not (_SID.fullmatch(value) and value.startswith(prefixes)):
        abort(400, description=f"{field} is not a Twilio SID ({'/'.join(prefixes)} + 32 hex digits)")
    return value


def message_sid(form: MultiDict[str, str]) -> str:
    """MessageSid, checked against the legacy SmsMessageSid/SmsSid copies Twilio sends beside it."""
    sid = twilio_sid(form, "MessageSid", MESSAGE_SID_PREFIXES)
    for legacy in ("SmsMessageSid", "SmsSid"):
        if legacy in form and form[legacy] != sid:
            abort(400, description=f"{legacy} differs from MessageSid")
    return sid


def clean_field(value: str | None, limit: int) -> str:
    """Trim, drop NUL bytes (PostgreSQL rejects them in text) and cap the length."""
    if not value:
        return ""
    return value.replace("\x00", "").strip()[:limit]


def sender_phone(form: MultiDict[str, str], field: str = "From") -> str | None:
    """The sender's number in E.164, or None when it is missing, hidden or not a phone number."""
    raw = clean_field(form.get(field), 64)
    if not raw:
        return None
    try:
        return to_e164(raw)
    except InvalidPhoneNumber:
        return None
