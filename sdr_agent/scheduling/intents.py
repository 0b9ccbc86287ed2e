"""Booking commands: reschedule and cancel a meeting, in pt-BR and en.

Precedence: the engine's global commands (`qualification.intents.detect_intent`) are checked
first, and this module never claims a message they claim. A bare "cancelar"/"cancel" is an
opt-out there (it is a carrier stop word, and stopping every message is the safe reading), so
here it is nothing, except while a meeting is booked: then it cancels the meeting. The caller
cancels the booking of a lead who opts out. Anything longer
("quero cancelar", "cancelar a reunião", "cancel my appointment") or a word that is not an
opt-out keyword ("desmarcar") is a booking cancel. A message asking for both ("cancelar e
remarcar") is a reschedule, and a reschedule may carry the new time ("remarcar para quinta
às 10h"), which `match_choice` reads from the same text.
"""
from __future__ import annotations

import re
from enum import Enum

from ..qualification.intents import detect_intent
from ..qualification.textnorm import clean, simplify


class BookingIntent(str, Enum):
    """A command about an existing or offered meeting."""

    RESCHEDULE = "reschedule"
    CANCEL = "cancel"


_MEETING = r"(?:a |o |minha |meu |my |the |our |nossa |nosso |this |essa |esse |that )?" \
           r"(?:reuniao|encontro|agendamento|horario|call|ligacao|chamada|conversa|meeting|appointment|booking|demo)"
_RESCHEDULE = re.compile(
    r"\b(?:remarcar|remarca|remarque|remarcamos|reagendar|reagenda|reagende|reagendamos|reschedule|rebook"
    r"|(?:mudar|muda|mude|trocar|troca|troque|alterar|altera|altere|change|move|moving|changing)"
    r"\s+(?:o |a |de |the |my |our )?(?:horario|data|dia|hora|time|date|day|reuniao|meeting|appointment|call)"
    r"|(?:another|different|other|outra|outro) (?:time|day|date|dia|data|horario))\b"
)
_CANCEL = re.compile(
    rf"\b(?:desmarcar|desmarca|desmarque|desmarcamos|cancelar|cancela|cancele|cancelamos|cancel|call off"
    rf"|{_MEETING}\s+(?:cancelada|cancelado|cancelled|canceled|is off))\b"
)
_BARE_CANCEL = frozenset({"cancelar", "cancel", "cancela"})
# "não quero cancelar", "don't cancel", "no need to reschedule": the command is negated.
_NEGATED = re.compile(r"\b(?:nao|nem|don t|dont|do not|no need to|not)\s+(?:\w+\s+){0,2}?(?:cancel|desmarc|remarc|reagend|resched|mud|troc|chang|mov)")


def detect_booking_intent(text: str, booked: bool = False) -> BookingIntent | None:
    """Reschedule or cancel, if the message asks for one and is not a global command.

    With a meeting booked (`booked`), a bare "cancelar"/"cancel" means the meeting, not every message:
    earlier booking texts told leads to write exactly that to cancel.
    """
    cleaned = clean(text)
    simple = simplify(cleaned)
    if booked and simple in _BARE_CANCEL:
        return BookingIntent.CANCEL
    if detect_intent(cleaned) is not None:
        return None
    if _NEGATED.search(simple):
        return None
    if _RESCHEDULE.search(simple):
        return BookingIntent.RESCHEDULE
    if _CANCEL.search(simple):
        return BookingIntent.CANCEL
    return None
