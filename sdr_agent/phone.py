"""Phone numbers: parse to E.164 and turn into a keyed, non-reversible user ID."""
from __future__ import annotations

import hashlib
import hmac

import phonenumbers

WHATSAPP_PREFIX = "whatsapp:"


class InvalidPhoneNumber(ValueError):
    """The value is not a dialable phone number."""


def to_e164(raw: str, default_region: str = "BR") -> str:
    """Parse a Twilio address ("whatsapp:+55…", "+1…", "(11) 9…") into E.164."""
    value = raw.strip()
    if value.lower().startswith(WHATSAPP_PREFIX):
        value = value[len(WHATSAPP_PREFIX):]
    try:
        parsed = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber("not a phone number") from None
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber("not a possible phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def phone_hash(secret: str, e164: str) -> str:
    """HMAC-SHA256 of the E.164 number, hex: the lead's ID in telemetry and lock keys."""
    return hmac.new(secret.encode("utf-8"), e164.encode("utf-8"), hashlib.sha256).hexdigest()


# Where a caller's country says which language to greet them in, before they have said a word.
LANGUAGE_BY_REGION = {
    **dict.fromkeys(("BR", "PT", "AO", "MZ", "CV"), "pt-BR"),
    **dict.fromkeys(("US", "CA", "GB", "IE", "AU", "NZ", "ZA", "IN", "SG", "PH", "NG", "KE"), "en"),
}


def language_for_number(e164: str) -> str | None:
    """The language most likely spoken by the owner of an E.164 number; None when unclear."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164))
    except phonenumbers.NumberParseException:
        return None
    return LANGUAGE_BY_REGION.get(region or "")
