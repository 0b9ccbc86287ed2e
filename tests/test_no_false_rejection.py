"""No false "not a fit": neutral closes, monthly budgets, unknown budgets, short thousands, questions after the close."""
from __future__ import annotations

import pytest
from flask import Flask

from sdr_agent.qualification import Flow
from sdr_agent.simulator import WebhookClient
from tests.conftest import BOTH_DATABASES
from tests.dbcheck import StageEvent, lead_by_phone, rows

BR_PHONE = "+5511987650301"
US_PHONE = "+14155550301"
TO_BUDGET = {
    "pt-BR": (BR_PHONE, ["oi", "sim", "Ana Souza", "Acme", "4", "Queremos organizar o funil de vendas"]),
    "en": (US_PHONE, ["Hello! I would like to know more about your service.", "yes", "Jane Doe", "Umbrella", "4",
                      "We want to organise our sales pipeline"]),
}
EMAIL = {"pt-BR": "ana@acme.com.br", "en": "jane@umbrella.com"}


def to_budget(webhooks: WebhookClient, language: str) -> str:
    phone, script = TO_BUDGET[language]
    for text in script:
        webhooks.send_whatsapp(phone, text)
    return phone


@BOTH_DATABASES
@pytest.mark.parametrize(("language", "budget", "timeline"), [
    ("pt-BR", "não sei", "ano que vem"),
    ("en", "not sure", "next year"),
])
def test_a_low_score_without_a_rule_gets_a_neutral_close(app: Flask, webhooks: WebhookClient, flow: Flow,
                                                         language: str, budget: str, timeline: str) -> None:
    phone = to_budget(webhooks, language)
    webhooks.send_whatsapp(phone, budget)
    webhooks.send_whatsapp(phone, timeline)
    close = webhooks.send_whatsapp(phone, EMAIL[language])
    lead = lead_by_phone(app, phone)
    name = lead.name or ""
    assert close == [flow.text("closed_for_review", language, {"name": name})]
    assert close != [flow.text("disqualified", language, {"name": name})]


@BOTH_DATABASES
@pytest.mark.parametrize(("language", "budget"), [("pt-BR", "R$ 5 mil por mês"), ("en", "$2,000 a month")])
def test_a_monthly_budget_is_compared_as_the_deal_it_is(app: Flask, webhooks: WebhookClient, language: str,
                                                        budget: str) -> None:
    phone = to_budget(webhooks, language)
    webhooks.send_whatsapp(phone, budget)
    webhooks.send_whatsapp(phone, "este mês" if language == "pt-BR" else "this month")
    webhooks.send_whatsapp(phone, EMAIL[language])
    lead = lead_by_phone(app, phone)
    # Analyst (5) + starting this month (25) + a yearly deal over 10k (30): qualified.
    assert (lead.stage, lead.score) == ("qualified", 60)


@BOTH_DATABASES
@pytest.mark.parametrize(("language", "answers"), [
    ("en", ["none of your business", "none of your business"]),
    ("en", ["no budget yet"]),
    ("pt-BR", ["não é da sua conta", "não é da sua conta"]),
    ("pt-BR", ["ainda não temos orçamento"]),
])
def test_an_unknown_or_withheld_budget_is_never_zero(app: Flask, webhooks: WebhookClient, flow: Flow, language: str,
                                                     answers: list[str]) -> None:
    phone = to_budget(webhooks, language)
    for answer in answers:
        webhooks.send_whatsapp(phone, answer)
    lead = lead_by_phone(app, phone)
    assert lead.stage == "timeline" and lead.budget_amount is None
    webhooks.send_whatsapp(phone, "este mês" if language == "pt-BR" else "this month")
    close = webhooks.send_whatsapp(phone, EMAIL[language])
    lead = lead_by_phone(app, phone)
    assert close != [flow.text("disqualified", language, {"name": lead.name or ""})]
    assert lead.budget_amount is None and lead.state["slots"]["budget"].get("min") is None


@BOTH_DATABASES
@pytest.mark.parametrize(("language", "short", "heard", "yes"), [
    ("pt-BR", "uns 2 conto", "R$ 2.000", "sim"),
    ("en", "about 15", "$15,000", "yes"),
])
def test_a_budget_in_short_thousands_is_asked_back(app: Flask, webhooks: WebhookClient, flow: Flow, language: str,
                                                   short: str, heard: str, yes: str) -> None:
    phone = to_budget(webhooks, language)
    assert webhooks.send_whatsapp(phone, short) == [flow.text("confirm", language, {"heard": heard})]
    assert lead_by_phone(app, phone).budget_amount is None  # nothing stored before the lead says yes
    webhooks.send_whatsapp(phone, yes)
    lead = lead_by_phone(app, phone)
    assert lead.stage == "timeline" and lead.budget_amount == float(heard.strip("R$ ").replace(".", "").replace(",", ""))


@BOTH_DATABASES
@pytest.mark.parametrize(("language", "short", "no", "amount"), [("pt-BR", "uns 2 conto", "não", 2.0),
                                                                 ("en", "about 15", "no", 15.0)])
def test_a_no_to_thousands_keeps_the_amount_as_written(app: Flask, webhooks: WebhookClient, language: str,
                                                       short: str, no: str, amount: float) -> None:
    phone = to_budget(webhooks, language)
    webhooks.send_whatsapp(phone, short)
    webhooks.send_whatsapp(phone, no)
    lead = lead_by_phone(app, phone)
    assert lead.stage == "timeline" and lead.budget_amount == amount  # asked once, never in a loop


@BOTH_DATABASES
@pytest.mark.parametrize(("language", "budget", "objection"), [
    ("pt-BR", "uns 500 reais", "Como assim, vocês não podem ajudar a gente?"),
    ("en", "$500", "What do you mean, you can't help us?"),
])
def test_a_question_after_the_close_gets_a_person(app: Flask, webhooks: WebhookClient, flow: Flow, language: str,
                                                  budget: str, objection: str) -> None:
    phone = to_budget(webhooks, language)
    webhooks.send_whatsapp(phone, budget)
    webhooks.send_whatsapp(phone, "este mês" if language == "pt-BR" else "this month")
    webhooks.send_whatsapp(phone, EMAIL[language])
    assert lead_by_phone(app, phone).stage == "disqualified"  # ruled out by the budget rule
    reply = webhooks.send_whatsapp(phone, objection)
    assert reply == [flow.text("close_objection", language)]
    assert "recomeçar" not in reply[0] and "restart" not in reply[0]
    lead = lead_by_phone(app, phone)
    assert lead.stage == "handoff" and lead.handed_off is True
    assert [e.to_stage for e in rows(app, StageEvent)][-1] == "handoff"
