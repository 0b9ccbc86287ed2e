"""An answer cut over two messages is read as one; an e-mail sent after the close updates the lead."""
from __future__ import annotations

import pytest
from flask import Flask

from sdr_agent.qualification import Flow
from sdr_agent.simulator import WebhookClient
from tests.conftest import BOTH_DATABASES, Clock
from tests.dbcheck import lead_by_phone

BR_PHONE = "+5511987650801"
US_PHONE = "+14155550801"
QUALIFY = {
    "pt-BR": (BR_PHONE, ["oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar a qualificação", "50 mil",
                         "este mês", "ana@acme.com.br"]),
    "en": (US_PHONE, ["Hi", "yes", "Jane Doe", "Umbrella", "1", "We need to automate lead qualification", "$50k",
                      "this month", "jane@umbrella.com"]),
}


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "before", "first_half", "second_half", "company", "language"), [
    (BR_PHONE, ["oi", "sim", "Ana Souza"], "trabalho na", "Magazine Lima", "Magazine Lima", "pt-BR"),
    (US_PHONE, ["Hi", "yes", "Jane Doe"], "I work at", "Umbrella Corp", "Umbrella Corp", "en"),
])
def test_an_answer_over_two_messages_is_read_as_one(app: Flask, webhooks: WebhookClient, flow: Flow, clock: Clock,
                                                    phone: str, before: list[str], first_half: str,
                                                    second_half: str, company: str, language: str) -> None:
    for text in before:
        webhooks.send_whatsapp(phone, text)
    assert webhooks.send_whatsapp(phone, first_half) == []  # waits for the rest: nothing stored, nothing asked
    lead = lead_by_phone(app, phone)
    assert (lead.stage, lead.company) == ("company", None)
    clock.advance(seconds=20)
    assert webhooks.send_whatsapp(phone, second_half) == [flow.question_stage("role").ask(language)]
    assert lead_by_phone(app, phone).company == company
    # Every later slot stays in step: the next answers land where they belong.
    webhooks.send_whatsapp(phone, "2")
    assert lead_by_phone(app, phone).role == "director"


@BOTH_DATABASES
def test_a_held_half_does_not_swallow_a_stop(app: Flask, webhooks: WebhookClient) -> None:
    for text in ["oi", "sim", "Ana Souza", "trabalho na"]:
        webhooks.send_whatsapp(BR_PHONE, text)
    webhooks.send_whatsapp(BR_PHONE, "parar")
    lead = lead_by_phone(app, BR_PHONE)
    assert lead.opted_out is True and lead.company is None


@BOTH_DATABASES
def test_a_late_second_half_is_read_on_its_own(app: Flask, webhooks: WebhookClient, clock: Clock) -> None:
    for text in ["oi", "sim", "Ana Souza", "trabalho na"]:
        webhooks.send_whatsapp(BR_PHONE, text)
    clock.advance(hours=2)
    webhooks.send_whatsapp(BR_PHONE, "Magazine Lima")
    assert lead_by_phone(app, BR_PHONE).company == "Magazine Lima"


@BOTH_DATABASES
@pytest.mark.parametrize(("language", "email", "correct"), [
    ("pt-BR", "ana@acme.com", "ah, o meu e-mail do trabalho é ana.souza@acme.com.br"),
    ("en", "jane@umbrella.org", "my work email is jane.doe@umbrella.com"),
])
def test_an_email_sent_after_the_close_updates_the_lead(app: Flask, webhooks: WebhookClient, language: str,
                                                        email: str, correct: str) -> None:
    phone, script = QUALIFY[language]
    for text in [*script[:-1], email]:
        webhooks.send_whatsapp(phone, text)
    assert lead_by_phone(app, phone).stage == "qualified"
    replies = webhooks.send_whatsapp(phone, correct)
    lead = lead_by_phone(app, phone)
    assert lead.email == correct.rsplit(" ", 1)[-1]
    assert replies[0] in {"Anotado, obrigado pela correção.", "Got it, thanks for the correction."}
    # Booked leads keep their meeting and still get their e-mail updated.
    webhooks.send_whatsapp(phone, "1")
    assert lead_by_phone(app, phone).stage == "booked"
    webhooks.send_whatsapp(phone, "final: " + email.replace("@", ".final@"))
    assert lead_by_phone(app, phone).email == email.replace("@", ".final@")
    assert lead_by_phone(app, phone).stage == "booked"
