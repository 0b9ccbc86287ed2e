"""The lead's language from the first word and the number, switched only on real evidence; money follows the lead."""
from __future__ import annotations

import pytest
from flask import Flask

from sdr_agent.qualification import Flow
from sdr_agent.simulator import WebhookClient
from tests.conftest import BOTH_DATABASES
from tests.dbcheck import lead_by_phone

BR_PHONE = "+5511987650501"
US_PHONE = "+14155550501"
UK_PHONE = "+447700900501"


def consent(flow: Flow, language: str) -> str:
    return flow.question_stage("consent").ask(language)


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "first", "language"), [
    (US_PHONE, "Hi", "en"),
    (UK_PHONE, "hello", "en"),
    (US_PHONE, "Acme", "en"),  # no evidence in the words: the number's country decides
    (US_PHONE, "Oi", "pt-BR"),  # a Brazilian abroad: the words win over the number
    (BR_PHONE, "Oi", "pt-BR"),
    (BR_PHONE, "Acme", "pt-BR"),
])
def test_a_new_lead_is_answered_in_the_language_of_their_words_or_number(app: Flask, webhooks: WebhookClient,
                                                                          flow: Flow, phone: str, first: str,
                                                                          language: str) -> None:
    assert webhooks.send_whatsapp(phone, first) == [consent(flow, language)]
    assert lead_by_phone(app, phone).language == language


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "script", "answer", "language", "slot"), [
    (BR_PHONE, ["oi", "sim", "Ana Souza"], "The Sales Company", "pt-BR", "company"),
    (BR_PHONE, ["oi", "sim"], "John Smith Jones", "pt-BR", "name"),
    (US_PHONE, ["Hi", "yes", "Jane Doe"], "Casa do Pão de Queijo", "en", "company"),
])
def test_a_name_or_company_answer_never_switches_language(app: Flask, webhooks: WebhookClient, phone: str,
                                                          script: list[str], answer: str, language: str,
                                                          slot: str) -> None:
    for text in script:
        webhooks.send_whatsapp(phone, text)
    webhooks.send_whatsapp(phone, answer)
    lead = lead_by_phone(app, phone)
    assert lead.language == language and getattr(lead, slot) == answer


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "script", "request_text", "language", "stage"), [
    (BR_PHONE, ["oi", "sim"], "can we speak English?", "en", "name"),
    (US_PHONE, ["Hi", "yes"], "pode ser em português?", "pt-BR", "name"),
    (US_PHONE, ["Hi", "yes"], "vc fala português?", "pt-BR", "name"),
])
def test_asking_for_a_language_switches_at_once(app: Flask, webhooks: WebhookClient, flow: Flow, phone: str,
                                                script: list[str], request_text: str, language: str,
                                                stage: str) -> None:
    for text in script:
        webhooks.send_whatsapp(phone, text)
    assert webhooks.send_whatsapp(phone, request_text) == [flow.question_stage(stage).ask(language)]
    assert lead_by_phone(app, phone).language == language


@BOTH_DATABASES
def test_asking_for_english_on_a_call_switches_at_once(app: Flask, webhooks: WebhookClient, flow: Flow) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    call.say("sim")
    spoken = call.say("can we speak English?")
    assert " ".join(spoken) == flow.question_stage("name").ask("en", voice=True)
    assert lead_by_phone(app, BR_PHONE).language == "en"


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "budget", "currency", "amount"), [
    (UK_PHONE, "£15k", "GBP", 15000.0),
    (UK_PHONE, "around 20k pounds", "GBP", 20000.0),
    (US_PHONE, "5k", "USD", 5000.0),
])
def test_money_follows_the_lead(app: Flask, webhooks: WebhookClient, phone: str, budget: str, currency: str,
                                amount: float) -> None:
    for text in ["Hi", "yes", "Jane Doe", "Umbrella", "2", "We need a better sales pipeline"]:
        webhooks.send_whatsapp(phone, text)
    webhooks.send_whatsapp(phone, budget)
    lead = lead_by_phone(app, phone)
    assert lead.stage == "timeline" and lead.budget_amount == amount
    assert lead.state["slots"]["budget"]["currency"] == currency


@BOTH_DATABASES
def test_a_us_lead_sees_meeting_times_with_an_explicit_zone(app: Flask, webhooks: WebhookClient) -> None:
    replies: list[str] = []
    for text in ["Hi", "yes", "Jane Doe", "Umbrella", "1", "We need a better sales pipeline", "$20k", "this month",
                 "jane@umbrella.com"]:
        replies = webhooks.send_whatsapp(US_PHONE, text)
    assert replies[0].startswith("Thanks, Jane Doe!")  # answered in English from "Hi" on a +1 number
    # The offer names the zone its times are in, so a lead elsewhere is never left guessing.
    assert replies[1].split("\n", 1)[0] == "These times are free (Brasília time):"
