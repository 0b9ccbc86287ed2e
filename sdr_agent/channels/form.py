"""Reading Twilio's webhook form fields safely: trimmed, capped, never NUL."""
from __future__ import annotations

from werkzeug.datastructures import MultiDict

from ..phone import InvalidPhoneNumber, to_e164

SID_CHARS = 64


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
