"""Calls: a "no" that carries the right answer, "I own the company", and a WhatsApp follow-up promised only when sent."""
from __future__ import annotations

import pytest
from flask import Flask

from sdr_agent import create_app
from sdr_agent.extensions import db
from sdr_agent.qualification import Flow
from sdr_agent.simulator import CallSession, WebhookClient
from tests.conftest import BOTH_DATABASES, Clock, base_config, close_app
from tests.dbcheck import lead_by_phone

BR_PHONE = "+5511987650701"
US_PHONE = "+14155550701"
TO_TIMELINE = {
    "pt-BR": (BR_PHONE, ["sim", "Ana Souza", "Acme", "diretora", "organizar o funil de vendas", "cinquenta mil reais"],
              "em dois meses"),
    "en": (US_PHONE, ["yes", "Jane Doe", "Umbrella", "director", "organise our sales pipeline", "fifty thousand dollars"],
           "in two months"),
}


def started(webhooks: WebhookClient, phone: str) -> CallSession:
    call = webhooks.call(phone)
    call.start()
    return call


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "before", "heard", "confirm", "correction", "company"), [
    (BR_PHONE, ["sim", "Ana Souza"], "Rápido", "Entendi Rápido, está certo?", "não, é Rápido Sul", "Rápido Sul"),
    (US_PHONE, ["yes", "Jane Doe"], "Globex", "I understood Globex — is that right?", "no, it's Globex Corp",
     "Globex Corp"),
])
def test_a_no_that_carries_the_right_answer_takes_it(app: Flask, webhooks: WebhookClient, flow: Flow, phone: str,
                                                     before: list[str], heard: str, confirm: str, correction: str,
                                                     company: str) -> None:
    call = started(webhooks, phone)
    for speech in before:
        call.say(speech)
    assert call.say(heard, confidence=0.3) == [confirm]
    language = "pt-BR" if phone == BR_PHONE else "en"
    assert call.say(correction) == [flow.question_stage("role").ask(language, voice=True)]
    assert lead_by_phone(app, phone).company == company


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "answer"), [(US_PHONE, "I own the company"), (BR_PHONE, "sou o dono da empresa")])
def test_owning_the_company_is_a_role(app: Flask, webhooks: WebhookClient, phone: str, answer: str) -> None:
    call = started(webhooks, phone)
    for speech in TO_TIMELINE["en" if phone == US_PHONE else "pt-BR"][1][:3]:
        call.say(speech)
    call.say(answer)
    lead = lead_by_phone(app, phone)
    assert (lead.role, lead.stage) == ("founder", "need")


@BOTH_DATABASES
@pytest.mark.parametrize("language", ["pt-BR", "en"])
def test_a_call_promises_a_whatsapp_message_only_when_one_can_be_sent(app: Flask, webhooks: WebhookClient,
                                                                      flow: Flow, clock: Clock, language: str) -> None:
    phone, script, last = TO_TIMELINE[language]
    # Never wrote on WhatsApp, no template: the caller is asked to write, nothing is promised.
    call = started(webhooks, phone)
    for speech in script:
        call.say(speech)
    assert call.say(last) == [flow.text("email_write_on_whatsapp", language, voice=True)]
    assert call.ended

    # Having written on WhatsApp within 24 hours, the message can be sent: the promise is made.
    other = "+5511987650702" if language == "pt-BR" else "+14155550702"
    webhooks.send_whatsapp(other, "oi" if language == "pt-BR" else "Hi")
    clock.advance(hours=1)
    call = started(webhooks, other)
    for speech in script:
        call.say(speech)
    assert call.say(last) == [flow.text("email_by_whatsapp", language, voice=True)]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_with_an_approved_template_the_call_promises_the_message(database_url: str) -> None:
    app = create_app(base_config(database_url, None, SDR_TEMPLATE_EMAIL_REQUEST_EN="HX" + "0" * 32))
    try:
        with app.app_context():
            if db.engine.dialect.name == "sqlite":
                db.create_all()
        flow: Flow = app.extensions["sdr_flow"]
        phone, script, last = TO_TIMELINE["en"]
        call = started(WebhookClient(app), phone)
        for speech in script:
            call.say(speech)
        assert call.say(last) == [flow.text("email_by_whatsapp", "en", voice=True)]
    finally:
        close_app(app)
