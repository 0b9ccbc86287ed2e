"""The .ics file: CRLF lines of at most 75 octets, escaped text, UTC times; parsed back strictly."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from sdr_agent.scheduling import SchedulingConfig, ics_event, slot_at

from .conftest import local

STAMP = datetime(2025, 11, 24, 12, 0, 5, tzinfo=timezone.utc)


def unfold(text: str) -> list[tuple[str, str]]:
    """Content lines as (name with parameters, raw value), checking the physical form on the way."""
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    for line in physical:
        assert "\n" not in line and "\r" not in line
        assert len(line.encode("utf-8")) <= 75, line
    logical: list[str] = []
    for line in physical:
        if line.startswith(" "):
            logical[-1] += line[1:]
        else:
            logical.append(line)
    return [tuple(line.split(":", 1)) for line in logical]  # type: ignore[misc]


def unescape(value: str) -> str:
    out, index = [], 0
    while index < len(value):
        char = value[index]
        if char == "\\":
            following = value[index + 1]
            assert following in "\\;,nN", f"bad escape \\{following}"
            out.append("\n" if following in "nN" else following)
            index += 2
            continue
        assert char not in ";," , f"unescaped {char!r} in {value!r}"
        out.append(char)
        index += 1
    return "".join(out)


def event(**overrides: object) -> str:
    config = SchedulingConfig()
    arguments = {
        "slot": slot_at(config, local(11, 25, 15)),
        "summary": "Reunião com a Acme",
        "description": "Olá",
        "uid": "booking-42@sdr-agent",
        "organizer_email": "vendas@example.com",
        "stamp": STAMP,
    }
    arguments.update(overrides)
    return ics_event(**arguments)  # type: ignore[arg-type]


def test_structure_and_utc_times() -> None:
    lines = unfold(event())
    names = [name for name, _ in lines]
    assert names == [
        "BEGIN", "VERSION", "PRODID", "CALSCALE", "METHOD", "BEGIN", "UID", "DTSTAMP", "DTSTART", "DTEND",
        "SEQUENCE", "SUMMARY", "DESCRIPTION", "ORGANIZER", "STATUS", "TRANSP", "END", "END",
    ]
    values = dict(lines[5:-1])  # the VEVENT, from BEGIN to END
    assert lines[0] == ("BEGIN", "VCALENDAR") and lines[-1] == ("END", "VCALENDAR")
    assert values["BEGIN"] == "VEVENT" and values["END"] == "VEVENT"
    assert dict(lines)["VERSION"] == "2.0"
    assert values["DTSTART"] == "20251125T180000Z"  # 15:00 in São Paulo
    assert values["DTEND"] == "20251125T183000Z"
    assert values["DTSTAMP"] == "20251124T120005Z"
    assert values["UID"] == "booking-42@sdr-agent"
    assert values["ORGANIZER"] == "mailto:vendas@example.com"
    assert unescape(values["SUMMARY"]) == "Reunião com a Acme"


def test_text_is_escaped_and_round_trips() -> None:
    description = "Olá, Maria; pauta:\n1) demo\r\n2) preço \\ prazo\tfim\x00"
    values = dict(unfold(event(description=description)))
    assert unescape(values["DESCRIPTION"]) == "Olá, Maria; pauta:\n1) demo\n2) preço \\ prazo fim"


@pytest.mark.parametrize("text", ["a" * 200, "ç" * 120, "x" + "🙂" * 60, "Reunião, " * 30])
def test_long_lines_are_folded_on_character_boundaries(text: str) -> None:
    values = dict(unfold(event(summary=text)))  # unfold checks every physical line is <= 75 octets
    assert unescape(values["SUMMARY"]) == text


def test_without_organizer_and_with_sequence() -> None:
    values = dict(unfold(event(organizer_email=None, sequence=2)))
    assert "ORGANIZER" not in values
    assert values["SEQUENCE"] == "2"


@pytest.mark.parametrize("email", ["no-at-sign", "a@b.com\r\nATTENDEE:x", "a b@c.com", "x@y;z"])
def test_organizer_must_be_a_plain_address(email: str) -> None:
    with pytest.raises(ValueError):
        event(organizer_email=email)


def test_default_stamp_is_now() -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    stamp = datetime.strptime(dict(unfold(event(stamp=None)))["DTSTAMP"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    assert before <= stamp <= datetime.now(timezone.utc)
