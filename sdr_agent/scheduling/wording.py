"""Texts the lead reads: one slot as a short date and time, and the numbered offer, in pt-BR and en."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Sequence
from zoneinfo import ZoneInfo

from ..qualification.language import primary

if TYPE_CHECKING:
    from .slots import Slot

_PT = "pt"
_PT_WEEKDAYS = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")
_EN_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Brazilians name their reference time after the capital, not after São Paulo.
_CITY_NAMES = {"America/Sao_Paulo": "Brasília"}

_OFFER = {
    _PT: ("Tenho estes horários livres ({zone}):", 'Responda com o número ou escreva outro horário (ex.: "quinta às 10h").'),
    "en": ("These times are free ({zone}):", 'Reply with the number or type another time (e.g. "Thursday 10am").'),
}
_ZONE = {_PT: "horário de {city}", "en": "{city} time"}


def slot_label(local_start: datetime, language: str, zone: ZoneInfo, with_zone: bool) -> str:
    """A local start time as "terça, 25/11 às 15:00" (pt) or "Tue, Nov 25 at 3:00 PM" (en)."""
    if primary(language) == _PT:
        text = f"{_PT_WEEKDAYS[local_start.weekday()]}, {local_start:%d/%m} às {local_start:%H:%M}"
    else:
        hour = local_start.hour % 12 or 12
        text = (
            f"{_EN_WEEKDAYS[local_start.weekday()]}, {_EN_MONTHS[local_start.month - 1]} {local_start.day}"
            f" at {hour}:{local_start:%M} {'AM' if local_start.hour < 12 else 'PM'}"
        )
    return f"{text} ({zone_label(zone, language)})" if with_zone else text


def zone_label(zone: ZoneInfo, language: str) -> str:
    """"horário de Brasília" / "Brasília time"; other zones by their city ("New York time")."""
    key = zone.key
    city = _CITY_NAMES.get(key, key.rsplit("/", 1)[-1].replace("_", " "))
    return _ZONE[_PT if primary(language) == _PT else "en"].format(city=city)


def offer_text(slots: Sequence[Slot], language: str) -> str:
    """The numbered WhatsApp list of `slots` with a lead-in and how to answer."""
    if not slots:
        # Nothing to choose from is the caller's decision (hand off, try later), not a text.
        raise ValueError("offer_text needs at least one slot")
    lead_in, instruction = _OFFER[_PT if primary(language) == _PT else "en"]
    lines = [f"{number}) {slot.label(language)}" for number, slot in enumerate(slots, start=1)]
    return "\n".join([lead_in.format(zone=zone_label(slots[0].zone, language)), *lines, "", instruction])
