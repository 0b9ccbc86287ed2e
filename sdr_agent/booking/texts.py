"""What the booking conversation says, in pt-BR and en."""
from __future__ import annotations

from ..qualification.language import primary

_TEXTS = {
    "pt": {
        "booked": "Reunião marcada para {when}! Vou te lembrar um pouco antes. Para remarcar, escreva *remarcar*; para cancelar a reunião, escreva *cancelar reunião*.",
        "calendar": "Adicione à sua agenda: {url}",
        "already_booked": "Sua reunião está marcada para {when}. Para remarcar, escreva *remarcar*; para cancelar a reunião, escreva *cancelar reunião*.",
        "taken": "Esse horário acabou de ser reservado.",
        "not_free": "Esse horário não está disponível.",
        "not_understood": "Não entendi qual horário você prefere.",
        "reschedule": "Sem problemas, vamos remarcar.",
        "cancelled": "Reunião cancelada. Se quiser marcar outro horário, é só escrever *remarcar*.",
        "no_slots": "No momento não tenho horários livres na agenda; um especialista vai falar com você por aqui para combinar.",
        "reminder": "Lembrete: nossa reunião é {when}. Até já!",
    },
    "en": {
        "booked": "Your meeting is booked for {when}! I'll remind you shortly before. To reschedule, type *reschedule*; to cancel the meeting, type *cancel meeting*.",
        "calendar": "Add it to your calendar: {url}",
        "already_booked": "Your meeting is booked for {when}. To reschedule, type *reschedule*; to cancel the meeting, type *cancel meeting*.",
        "taken": "That time was just booked by someone else.",
        "not_free": "That time isn't available.",
        "not_understood": "I didn't get which time you prefer.",
        "reschedule": "No problem, let's find another time.",
        "cancelled": "Your meeting is cancelled. If you'd like another time, just type *reschedule*.",
        "no_slots": "There are no free times in the calendar right now; a specialist will reach out here to arrange one.",
        "reminder": "Reminder: our meeting is {when}. See you soon!",
    },
}


def booking_text(key: str, language: str, **values: str) -> str:
    """One booking text in the lead's language (English for languages without their own)."""
    texts = _TEXTS["pt"] if primary(language) == "pt" else _TEXTS["en"]
    return texts[key].format(**values)
