"""Booking commands (and their precedence over the engine's opt-out) and the texts the lead reads."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from sdr_agent.qualification.intents import Intent, detect_intent
from sdr_agent.scheduling import BookingIntent, SchedulingConfig, detect_booking_intent, offer_text, slot_at

from .conftest import NEW_YORK, local


@pytest.mark.parametrize(
    "text",
    ["remarcar", "Reagendar", "quero remarcar a reunião", "dá pra mudar o horário?", "preciso trocar o dia",
     "REMARCAR PARA QUINTA ÀS 10H", "reschedule", "Can we change the time?", "I need to reschedule please",
     "can we move the meeting", "cancelar e remarcar"],
)
def test_reschedule(text: str) -> None:
    assert detect_booking_intent(text) is BookingIntent.RESCHEDULE


@pytest.mark.parametrize(
    "text",
    ["desmarcar", "Desmarca por favor", "quero cancelar", "cancelar a reunião", "pode cancelar o agendamento",
     "I want to cancel", "please cancel my appointment", "cancel the meeting", "reunião cancelada"],
)
def test_cancel(text: str) -> None:
    assert detect_booking_intent(text) is BookingIntent.CANCEL


@pytest.mark.parametrize("text", ["cancelar", "Cancelar!", "CANCEL", "cancel", "stop", "parar"])
def test_a_bare_opt_out_word_stays_an_opt_out(text: str) -> None:
    assert detect_intent(text) is Intent.OPT_OUT
    assert detect_booking_intent(text) is None


@pytest.mark.parametrize(
    "text",
    ["não quero cancelar", "don't cancel", "no need to reschedule", "ok, confirmado", "2", "terça às 15h",
     "falar com atendente", "recomeçar", "", "what time is it?"],
)
def test_no_booking_command(text: str) -> None:
    assert detect_booking_intent(text) is None


def test_global_commands_win_over_booking_words() -> None:
    for text in ["falar com atendente", "recomeçar", "help"]:
        assert detect_intent(text) is not None and detect_booking_intent(text) is None


@pytest.mark.parametrize(
    "wall, language, expected",
    [
        (local(11, 25, 15), "pt-BR", "terça, 25/11 às 15:00"),
        (local(11, 25, 15), "en", "Tue, Nov 25 at 3:00 PM"),
        (local(11, 29, 9, 30), "pt-BR", "sábado, 29/11 às 09:30"),
        (local(11, 29, 9, 30), "en", "Sat, Nov 29 at 9:30 AM"),
        (local(12, 1, 12), "en", "Mon, Dec 1 at 12:00 PM"),
        (local(1, 4, 0, 30, year=2026), "en", "Sun, Jan 4 at 12:30 AM"),
    ],
)
def test_slot_label(wall: datetime, language: str, expected: str, config: SchedulingConfig) -> None:
    assert slot_at(config, wall).label(language) == expected


def test_slot_label_in_the_configured_zone_with_its_name(config: SchedulingConfig) -> None:
    slot = slot_at(config, local(11, 25, 15))
    assert slot.label("pt-BR", with_zone=True) == "terça, 25/11 às 15:00 (horário de Brasília)"
    assert slot.label("en", with_zone=True) == "Tue, Nov 25 at 3:00 PM (Brasília time)"
    new_york = SchedulingConfig(zone=NEW_YORK)
    same_instant = slot_at(new_york, local(11, 25, 15))
    assert same_instant.label("en", with_zone=True) == "Tue, Nov 25 at 1:00 PM (New York time)"
    manaus = SchedulingConfig(zone=ZoneInfo("America/Manaus"))
    assert slot_at(manaus, local(11, 25, 15)).label("pt-BR", with_zone=True) == "terça, 25/11 às 14:00 (horário de Manaus)"


def test_offer_text(config: SchedulingConfig) -> None:
    slots = [slot_at(config, local(11, 25, 15)), slot_at(config, local(11, 26, 9, 30))]
    assert offer_text(slots, "pt-BR") == (
        "Tenho estes horários livres (horário de Brasília):\n"
        "1) terça, 25/11 às 15:00\n"
        "2) quarta, 26/11 às 09:30\n"
        "\n"
        'Responda com o número ou escreva outro horário (ex.: "quinta às 10h").'
    )
    assert offer_text(slots, "en") == (
        "These times are free (Brasília time):\n"
        "1) Tue, Nov 25 at 3:00 PM\n"
        "2) Wed, Nov 26 at 9:30 AM\n"
        "\n"
        'Reply with the number or type another time (e.g. "Thursday 10am").'
    )


def test_offer_text_needs_slots() -> None:
    with pytest.raises(ValueError):
        offer_text([], "pt-BR")
