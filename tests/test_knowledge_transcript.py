"""The transcript of issue 22 replayed through the real webhook: questions are answered, never stored as answers."""
from __future__ import annotations

from typing import Callable

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from sdr_agent.simulator import WebhookClient, reply_texts
from tests.conftest import Clock
from tests.dbcheck import lead_by_phone

PHONE = "+5511955550022"
Send = Callable[..., TestResponse]

TRANSCRIPT = [
    ("Oi, vi o anúncio de vocês", None),
    ("sim", None),
    ("Ana Souza", None),
    ("Acme Distribuidora", None),
    ("vcs integram com hubspot?", "integramos nativamente com HubSpot"),
    ("é um robô?", "Sou um assistente virtual, não uma pessoa"),
    ("sou gerente comercial", "O que você gostaria de resolver"),
    ("quero integrar o whatsapp com o hubspot", "orçamento estimado"),
    ("qual o preço mínimo?", "Nossos planos começam em R$ 490/mês"),
    ("15 mil", "para quando vocês pretendem começar"),
    ("pode me ligar amanhã?", "anotei o pedido de ligação (amanhã)"),
    ("daqui a 2 meses", "e-mail profissional"),
    ("ana@acme.com.br", "faz muito sentido conversarmos"),
]


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_issue_transcript_ends_with_clean_slots_and_a_qualified_lead(app: Flask, send: Send, clock: Clock) -> None:
    for text, expected in TRANSCRIPT:
        response = send(PHONE, text)
        assert response.status_code == 200
        reply = "\n".join(reply_texts(response.get_data(as_text=True)))
        if expected is not None:
            assert expected in reply, (text, reply)
        clock.advance(minutes=1)

    lead = lead_by_phone(app, PHONE)
    assert lead.role == "manager"
    assert lead.need == "quero integrar o whatsapp com o hubspot"
    assert lead.budget_amount == 15000
    assert lead.timeline_months == 2.0
    assert lead.stage == "qualified"
    assert lead.state["callback"]["when"] == "amanhã"
    assert "?" not in " ".join(str(value) for value in lead.state["slots"].values())


def test_the_question_is_answered_then_the_open_question_asked_again(app: Flask, send: Send) -> None:
    for text in ("Oi", "sim", "Ana Souza", "Acme"):
        send(PHONE, text)
    response = send(PHONE, "quanto custa?")
    replies = reply_texts(response.get_data(as_text=True))
    assert replies[0].startswith("Nossos planos começam em R$ 490/mês")
    assert replies[-1].startswith("Voltando à minha pergunta: Qual destas opções descreve melhor o seu cargo?")
    lead = lead_by_phone(app, PHONE)
    assert lead.stage == "role" and lead.role is None


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_a_caller_hears_the_answer_then_the_open_question_and_a_callback_reaches_the_lead(app: Flask) -> None:
    call = WebhookClient(app).call("+5511955550023")
    call.start()
    call.say("sim")
    spoken = " ".join(call.say("quanto custa"))
    assert "quatrocentos e noventa reais por mês" in spoken and "qual é o seu nome?" in spoken
    assert not call.ended
    assert "Em qual empresa" in " ".join(call.say("Carla Dias"))
    low = " ".join(call.say("é um robô", confidence=0.3))
    assert "assistente virtual, não uma pessoa" in low and "Em qual empresa" in low
    assert "anotei o pedido de ligação (amanhã de manhã)" in " ".join(call.say("me liga amanhã de manhã"))
    call.say("prefiro não dizer")
    lead = lead_by_phone(app, "+5511955550023")
    assert (lead.name, lead.company, lead.stage) == ("Carla Dias", None, "role")
    assert lead.state["slots"]["company"] == {"not_given": "declined"}
    assert lead.state["callback"]["when"] == "amanhã de manhã"
