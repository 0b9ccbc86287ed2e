"""Opt-out in the lead's own words, through the signed webhooks; cancelling a meeting is not an opt-out."""
from __future__ import annotations

import pytest
from flask import Flask

from sdr_agent.qualification import Flow
from sdr_agent.simulator import WebhookClient
from tests.conftest import BOTH_DATABASES, Clock
from tests.dbcheck import lead_by_phone
from tests.test_booking import QUALIFY_EN, QUALIFY_PT, bookings

BR_PHONE = "+5511987650201"
US_PHONE = "+14155550201"
# Up to the company question, in each language.
TO_COMPANY = {"pt-BR": (BR_PHONE, QUALIFY_PT[:3]), "en": (US_PHONE, QUALIFY_EN[:3])}


@pytest.fixture
def webhooks(app: Flask, clock: Clock) -> WebhookClient:
    app.extensions["sdr_outbound"].clock = clock
    return WebhookClient(app)


@BOTH_DATABASES
@pytest.mark.parametrize(("language", "words"), [
    ("pt-BR", "não quero mais, para de me mandar mensagem"),
    ("pt-BR", "me tira dessa lista"),
    ("en", "please stop messaging me"),
    ("en", "unsubscribe me"),
])
def test_stop_in_words_opts_out_once_and_is_never_the_company(app: Flask, webhooks: WebhookClient, flow: Flow,
                                                               language: str, words: str) -> None:
    phone, script = TO_COMPANY[language]
    for text in script:
        webhooks.send_whatsapp(phone, text)
    assert lead_by_phone(app, phone).stage == "company"

    assert webhooks.send_whatsapp(phone, words) == [flow.text("opted_out", language)]
    lead = lead_by_phone(app, phone)
    assert lead.opted_out is True and lead.company is None
    # Confirmed once, as STOP is: nothing more is said until the lead opts back in.
    assert webhooks.send_whatsapp(phone, "alô?" if language == "pt-BR" else "hello?") == []


@BOTH_DATABASES
@pytest.mark.parametrize("words", ["pare de me ligar", "stop calling me"])
def test_stop_in_words_on_a_call_opts_out(app: Flask, webhooks: WebhookClient, flow: Flow, words: str) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    call.say("sim")
    spoken = call.say(words)
    assert call.ended
    assert " ".join(spoken) in {flow.text("opted_out", lang, voice=True) for lang in flow.languages}
    assert lead_by_phone(app, BR_PHONE).opted_out is True


@BOTH_DATABASES
@pytest.mark.parametrize(("script", "cancel", "reply"), [
    (QUALIFY_PT, "cancelar", "Reunião cancelada. Se quiser marcar outro horário, é só escrever *remarcar*."),
    (QUALIFY_EN, "cancel", "Your meeting is cancelled. If you'd like another time, just type *reschedule*."),
])
def test_the_booking_text_never_asks_for_an_opt_out_word_and_cancel_means_the_meeting(
        app: Flask, webhooks: WebhookClient, script: list[str], cancel: str, reply: str) -> None:
    for text in script:
        webhooks.send_whatsapp(BR_PHONE, text)
    booked = webhooks.send_whatsapp(BR_PHONE, "1")
    # The word the confirmation asks for must not be a stop word.
    instruction = booked[0].rsplit("*", 2)[-2]
    assert webhooks.send_whatsapp(BR_PHONE, instruction) == [reply]
    assert [b.status for b in bookings(app)] == ["cancelled"]
    lead = lead_by_phone(app, BR_PHONE)
    assert lead.opted_out is False and lead.stage == "qualified"

    # A booked lead writing the bare word, as older confirmations told them to, cancels only the meeting.
    webhooks.send_whatsapp(BR_PHONE, "remarcar" if cancel == "cancelar" else "reschedule")
    webhooks.send_whatsapp(BR_PHONE, "1")
    assert lead_by_phone(app, BR_PHONE).stage == "booked"
    assert webhooks.send_whatsapp(BR_PHONE, cancel) == [reply]
    lead = lead_by_phone(app, BR_PHONE)
    assert [b.status for b in bookings(app)] == ["cancelled", "cancelled"]
    assert lead.opted_out is False and lead.stage == "qualified"


@BOTH_DATABASES
@pytest.mark.parametrize(("script", "stop", "meant", "language"), [
    (QUALIFY_PT, "parar", "eu só queria cancelar a reunião", "pt-BR"),
    (QUALIFY_EN, "stop", "I just wanted to cancel the meeting", "en"),
])
def test_a_wrong_opt_out_is_undone_by_saying_it_was_the_meeting(app: Flask, webhooks: WebhookClient, flow: Flow,
                                                                 script: list[str], stop: str, meant: str,
                                                                 language: str) -> None:
    for text in script:
        webhooks.send_whatsapp(BR_PHONE, text)
    webhooks.send_whatsapp(BR_PHONE, "1")
    webhooks.send_whatsapp(BR_PHONE, stop)
    lead = lead_by_phone(app, BR_PHONE)
    assert lead.opted_out is True and lead.stage == "qualified"  # the meeting is gone, so is `booked`
    assert [b.status for b in bookings(app)] == ["cancelled"]

    assert webhooks.send_whatsapp(BR_PHONE, meant) == [flow.text("opt_out_undone", language)]
    assert lead_by_phone(app, BR_PHONE).opted_out is False
    # And the lead can book again.
    offer = webhooks.send_whatsapp(BR_PHONE, "remarcar" if language == "pt-BR" else "reschedule")
    assert offer[0].startswith(("Tenho estes horários livres", "These times are free"))
