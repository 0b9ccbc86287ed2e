"""A first message full of facts is said back and never asked again; a restart in free words works."""
from __future__ import annotations

import pytest
from flask import Flask

from sdr_agent.qualification import Flow
from sdr_agent.simulator import WebhookClient
from tests.conftest import BOTH_DATABASES
from tests.dbcheck import ConversationThread, lead_by_phone, rows

BR_PHONE = "+5511987650601"
US_PHONE = "+14155550601"


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "language", "first", "facts", "yes"), [
    (BR_PHONE, "pt-BR", "Sou a Ana, diretora de marketing da Acme, queremos automatizar a qualificação de leads",
     {"name": "Ana", "company": "Acme", "role": "director", "need": "queremos automatizar a qualificação de leads"},
     "sim"),
    (US_PHONE, "en", "Hi, I'm John, marketing director at Globex. We need to automate lead qualification",
     {"name": "John", "company": "Globex", "role": "director", "need": "We need to automate lead qualification"},
     "yes"),
])
def test_a_first_message_full_of_facts_is_acknowledged_and_not_asked_again(
        app: Flask, webhooks: WebhookClient, flow: Flow, phone: str, language: str, first: str,
        facts: dict[str, str], yes: str) -> None:
    replies = webhooks.send_whatsapp(phone, first)
    role_label = flow.question_stage("role").option("director").labels[language]
    said_back = "; ".join([facts["name"], facts["company"], role_label, facts["need"]])
    assert replies == [flow.text("understood", language, {"facts": said_back}),
                       flow.question_stage("consent").ask(language)]
    lead = lead_by_phone(app, phone)
    assert {slot: getattr(lead, slot) for slot in facts} == facts

    # Consent given: the next question is the first one not answered yet, the budget.
    assert webhooks.send_whatsapp(phone, yes) == [flow.question_stage("budget").ask(language)]


@BOTH_DATABASES
def test_facts_said_on_a_call_at_the_first_question_are_not_asked_again(app: Flask, webhooks: WebhookClient,
                                                                        flow: Flow) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    spoken = call.say("sim, sou a Ana, diretora comercial da Acme, queremos organizar o funil de vendas")
    assert spoken[-1] == flow.question_stage("budget").ask("pt-BR", voice=True)
    lead = lead_by_phone(app, BR_PHONE)
    assert (lead.name, lead.company, lead.role, lead.need) == (
        "Ana", "Acme", "director", "queremos organizar o funil de vendas")


@BOTH_DATABASES
@pytest.mark.parametrize(("phone", "script", "restart", "language"), [
    (BR_PHONE, ["oi", "sim", "Ana Souza"], "pera, quero começar de novo", "pt-BR"),
    (US_PHONE, ["Hi", "yes", "Jane Doe"], "wait, can we start over?", "en"),
])
def test_a_restart_in_free_words_starts_over(app: Flask, webhooks: WebhookClient, flow: Flow, phone: str,
                                             script: list[str], restart: str, language: str) -> None:
    for text in script:
        webhooks.send_whatsapp(phone, text)
    replies = webhooks.send_whatsapp(phone, restart)
    assert replies == [flow.text("restart", language), flow.question_stage("consent").ask(language)]
    lead = lead_by_phone(app, phone)
    assert (lead.stage, lead.name, lead.company) == ("consent", None, None)
    assert [thread.end_reason for thread in rows(app, ConversationThread)] == ["user_requested", None]
