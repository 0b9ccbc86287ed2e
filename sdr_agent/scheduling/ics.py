"""An RFC 5545 calendar file with one event, for the lead's calendar."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from .slots import Slot, as_utc

PRODID = "-//SDR Agent//Scheduling//EN"
MAX_LINE_OCTETS = 75
_CRLF = "\r\n"
# Control characters are not allowed in TEXT values (RFC 5545 §3.3.11); tabs and newlines are handled.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^\s@:;,\"<>\\]+@[^\s@:;,\"<>\\]+$")


def ics_event(
    slot: Slot,
    summary: str,
    description: str,
    uid: str,
    organizer_email: str | None = None,
    *,
    stamp: datetime | None = None,
    sequence: int = 0,
) -> str:
    """A VCALENDAR with one VEVENT; raise `sequence` and keep `uid` when the meeting is moved."""
    if not uid.strip():
        raise ValueError("uid must not be blank")
    if organizer_email is not None and not _EMAIL.match(organizer_email):
        raise ValueError(f"{organizer_email!r} is not an e-mail address")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:{escape_text(uid)}",
        f"DTSTAMP:{_utc(stamp or datetime.now(timezone.utc))}",
        f"DTSTART:{_utc(slot.start)}",
        f"DTEND:{_utc(slot.end)}",
        f"SEQUENCE:{sequence}",
        f"SUMMARY:{escape_text(summary)}",
        f"DESCRIPTION:{escape_text(description)}",
        *([f"ORGANIZER:mailto:{organizer_email}"] if organizer_email else []),
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold_line(line) + _CRLF for line in lines)


def escape_text(value: str) -> str:
    """A TEXT value: backslash, semicolon and comma escaped, line breaks as \\n, control characters dropped."""
    value = value.replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold_line(line: str) -> str:
    """The line split into CRLF + space continuations of at most 75 octets, never inside a UTF-8 character."""
    parts: list[str] = []
    current, size, limit = "", 0, MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            # A continuation starts with a space, which counts towards its 75 octets.
            current, size, limit = "", 0, MAX_LINE_OCTETS - 1
        current += char
        size += width
    parts.append(current)
    return (_CRLF + " ").join(parts)


def _utc(moment: datetime) -> str:
    return f"{as_utc(moment):%Y%m%dT%H%M%SZ}"
