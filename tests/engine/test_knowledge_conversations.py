"""Leads who ask, correct, refuse and ask to be called, in pt-BR and en, on WhatsApp and on calls.

Each row: what the lead says, a text the reply must contain (None: anything), the stage after it.
After every turn of every conversation: no slot holds a question or a refusal, and no lead is
disqualified while an answer of theirs could not be read.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from sdr_agent.qualification import EventKind
from sdr_agent.qualification.questions import clause_kind
from sdr_agent.qualification.refusals import is_refusal

from .support import Lead

Row = tuple[str, str | None, str]
Script = list[Row]

PT_START: Script = [("Oi", "(sim/não)", "consent"), ("sim", "qual é o seu nome?", "name")]
PT_COMPANY: Script = PT_START + [("Ana Souza", "Em qual empresa", "company")]
PT_ROLE: Script = PT_COMPANY + [("Acme", "cargo", "role")]
PT_NEED: Script = PT_ROLE + [("3", "O que você gostaria de resolver", "need")]
PT_BUDGET: Script = PT_NEED + [("Automatizar o atendimento no WhatsApp", "orçamento", "budget")]
PT_TIMELINE: Script = PT_BUDGET + [("20 mil", "para quando", "timeline")]
PT_EMAIL: Script = PT_TIMELINE + [("mês que vem", "e-mail", "email")]
EN_START: Script = [("Hello there", "(yes/no)", "consent"), ("yes", "what's your name?", "name")]
EN_COMPANY: Script = EN_START + [("John Smith", "Which company", "company")]
EN_ROLE: Script = EN_COMPANY + [("Globex", "role", "role")]
EN_NEED: Script = EN_ROLE + [("manager", "What would you like to solve", "need")]
EN_BUDGET: Script = EN_NEED + [("We need a CRM for the sales team", "budget", "budget")]
EN_TIMELINE: Script = EN_BUDGET + [("$20k", "When are you hoping", "timeline")]
EN_EMAIL: Script = EN_TIMELINE + [("next month", "work e-mail", "email")]
BACK_PT = "Voltando à minha pergunta:"
BACK_EN = "Back to my question:"


def spoken(script: Script) -> Script:
    """The same script on a call, where the consent question asks to say yes or no."""
    said = {"(sim/não)": "Diga sim ou não", "(yes/no)": "Please say yes or no"}
    return [(text, said.get(expected, expected) if expected else None, stage) for text, expected, stage in script]


NOTED_PT = "anotei para o especialista"
NOTED_EN = "noted it for the specialist"
PRICE_PT = "Nossos planos começam em R$ 490/mês"
PRICE_EN = "Our plans start at USD 99/month"

# name -> (language, channel, script, slots expected at the end: value, or a callable check)
CONVERSATIONS: dict[str, tuple[str, str, Script, dict[str, Any]]] = {
    # Questions at every stage
    "pt price asked in the first message": ("pt-BR", "whatsapp", [
        ("Oi, quanto custa?", PRICE_PT, "consent"),
        ("sim", "qual é o seu nome?", "name"),
    ], {}),
    "pt bot question at consent": ("pt-BR", "whatsapp", [
        ("Oi", "(sim/não)", "consent"),
        ("é um robô?", "Sou um assistente virtual, não uma pessoa", "consent"),
        ("ok, pode perguntar", "qual é o seu nome?", "name"),
    ], {"consent": True}),
    "pt integration question at role, then the role": ("pt-BR", "whatsapp", PT_ROLE + [
        ("vcs integram com hubspot?", "integramos nativamente com HubSpot", "role"),
        ("sou gerente comercial", "O que você gostaria de resolver", "need"),
    ], {"role": "manager"}),
    "pt mixed message fills the role and answers": ("pt-BR", "whatsapp", PT_ROLE + [
        ("sou gerente comercial, vcs integram com hubspot?", "integramos nativamente com HubSpot", "need"),
    ], {"role": "manager"}),
    "pt uncovered question is noted": ("pt-BR", "whatsapp", PT_COMPANY + [
        ("vocês têm escritório em Portugal?", NOTED_PT, "company"),
        ("Acme", "cargo", "role"),
    ], {"company": "Acme"}),
    "pt price asked at the budget, then the budget": ("pt-BR", "whatsapp", PT_BUDGET + [
        ("qual o preço mínimo?", PRICE_PT, "budget"),
        ("15 mil", "para quando", "timeline"),
    ], {"budget": lambda value: value["min"] == 15000}),
    "pt why-do-you-ask at company": ("pt-BR", "whatsapp", PT_COMPANY + [
        ("por que você precisa saber?", "especialista já chegar preparado", "company"),
        ("Acme", "cargo", "role"),
    ], {"company": "Acme"}),
    "pt product question at need": ("pt-BR", "whatsapp", PT_NEED + [
        ("como funciona?", "atende e qualifica os contatos", "need"),
        ("Organizar o funil de vendas", "orçamento", "budget"),
    ], {"need": "Organizar o funil de vendas"}),
    "pt meeting question after qualifying": ("pt-BR", "whatsapp", PT_EMAIL + [
        ("ana@acme.com.br", "faz muito sentido conversarmos", "qualified"),
        ("como é a reunião?", "conversa online de 30 minutos", "qualified"),
    ], {"email": "ana@acme.com.br"}),
    "pt two questions in one message": ("pt-BR", "whatsapp", PT_ROLE + [
        ("quanto custa? e tem fidelidade?", "Não há fidelidade", "role"),
    ], {}),
    "pt question without a question mark": ("pt-BR", "whatsapp", PT_COMPANY + [
        ("quanto custa", PRICE_PT, "company"),
    ], {}),
    "pt bare FAQ variant": ("pt-BR", "whatsapp", PT_COMPANY + [
        ("é robô", "Sou um assistente virtual", "company"),
    ], {}),
    "pt doubt with a question mark is still an answer": ("pt-BR", "whatsapp", PT_TIMELINE + [
        ("julho?", "e-mail", "email"),
    ], {"timeline": lambda value: value["label"] == "july"}),
    # Corrections and out-of-order answers
    "pt budget corrected at the timeline": ("pt-BR", "whatsapp", PT_TIMELINE + [
        ("na verdade meu orçamento é 50 mil", "Anotado, obrigado pela correção", "timeline"),
        ("mês que vem", "e-mail", "email"),
    ], {"budget": lambda value: value["min"] == 50000}),
    "pt e-mail given early, then corrected": ("pt-BR", "whatsapp", PT_ROLE + [
        ("gerente, meu e-mail é ana@acme.com", "O que você gostaria de resolver", "need"),
        ("errei o e-mail, é ana.souza@acme.com.br", "Anotado", "need"),
    ], {"email": "ana.souza@acme.com.br", "role": "manager"}),
    "pt company and e-mail in one answer": ("pt-BR", "whatsapp", PT_COMPANY + [
        ("Trabalho na Acme, meu e-mail é ana@acme.com.br", "cargo", "role"),
    ], {"company": "Acme", "email": "ana@acme.com.br"}),
    "pt e-mail given while the role is open": ("pt-BR", "whatsapp", PT_ROLE + [
        ("meu e-mail é ana@acme.com.br", "Anotado!", "role"),
        ("2", "O que você gostaria", "need"),
    ], {"email": "ana@acme.com.br", "role": "director"}),
    "pt voice yes is not a name": ("pt-BR", "voice", spoken(PT_START + [
        ("sim", "Não consegui entender o seu nome", "name"),
        ("Carlos Pereira", "Em qual empresa", "company"),
    ]), {"name": "Carlos Pereira"}),
    "pt role corrected": ("pt-BR", "whatsapp", PT_BUDGET + [
        ("na verdade sou diretora", "Anotado", "budget"),
    ], {"role": "director"}),
    # Refusals
    "pt company declined": ("pt-BR", "whatsapp", PT_COMPANY + [
        ("prefiro não dizer", "essa pode ficar em branco", "role"),
    ], {"company": {"not_given": "declined"}}),
    "pt budget declined is asked once more, then left blank": ("pt-BR", "whatsapp", PT_BUDGET + [
        ("prefiro não informar", "Um valor aproximado já ajuda", "budget"),
        ("prefiro não dizer", "essa pode ficar em branco", "timeline"),
    ], {"budget": {"not_given": "declined"}}),
    "pt budget given when asked once more": ("pt-BR", "whatsapp", PT_BUDGET + [
        ("é confidencial", "Um valor aproximado já ajuda", "budget"),
        ("tá, uns 10 mil", "para quando", "timeline"),
    ], {"budget": lambda value: value["min"] == 10000}),
    "pt e-mail unreadable twice is not stored": ("pt-BR", "whatsapp", PT_EMAIL + [
        ("valeu!", "não parece válido", "email"),
        ("thx!", None, "qualified"),
    ], {"email": {"not_given": "unparsed"}}),
    # Callback requests
    "pt callback at the timeline": ("pt-BR", "whatsapp", PT_TIMELINE + [
        ("pode me ligar amanhã?", "anotei o pedido de ligação (amanhã)", "timeline"),
        ("daqui a 2 meses", "e-mail", "email"),
    ], {"timeline": lambda value: value["months"] == 2.0}),
    "pt callback with a time, no question": ("pt-BR", "whatsapp", PT_ROLE + [
        ("prefiro uma ligação à tarde", "anotei o pedido de ligação (à tarde)", "role"),
    ], {}),
    # Dates and amounts
    "pt month name alone": ("pt-BR", "whatsapp", PT_TIMELINE + [("julho", "e-mail", "email")],
                            {"timeline": lambda value: value["label"] == "july"}),
    "pt after carnival": ("pt-BR", "whatsapp", PT_TIMELINE + [("depois do carnaval", "e-mail", "email")],
                          {"timeline": lambda value: value["label"] == "after carnival"}),
    "pt third quarter": ("pt-BR", "whatsapp", PT_TIMELINE + [("no 3º trimestre", "e-mail", "email")],
                         {"timeline": lambda value: value["label"] == "Q3"}),
    "pt about two thousand": ("pt-BR", "whatsapp", PT_BUDGET + [("uns 2 mil", "para quando", "timeline")],
                              {"budget": lambda value: value["min"] == 2000}),
    "pt unreadable timeline never disqualifies a director with budget": ("pt-BR", "whatsapp", PT_NEED[:-1] + [
        ("diretor", "O que você gostaria", "need"),
        ("CRM", "orçamento", "budget"),
        ("50 mil", "para quando", "timeline"),
        ("quando a diretoria aprovar", "Não entendi o prazo", "timeline"),
        ("aí vemos com calma", "Sem problemas, vamos seguir em frente", "email"),
        ("ana@acme.com.br", "Uma pessoa do nosso time", "handoff"),
    ], {"timeline": {"not_given": "unparsed"}}),
    # Voice
    "pt voice question without a question mark": ("pt-BR", "voice", spoken(PT_START + [
        ("quanto custa", "quatrocentos e noventa reais", "name"),
        ("Ana Souza", "Em qual empresa", "company"),
    ]), {"name": "Ana Souza"}),
    "pt voice bot question at company": ("pt-BR", "voice", spoken(PT_COMPANY + [
        ("é um robô", "diga falar com atendente", "company"),
    ]), {}),
    "pt voice callback": ("pt-BR", "voice", spoken(PT_ROLE + [
        ("me liga amanhã de manhã", "anotei o pedido de ligação (amanhã de manhã)", "role"),
    ]), {}),
    "pt voice refusal": ("pt-BR", "voice", spoken(PT_COMPANY + [
        ("prefiro não dizer", "essa pode ficar em branco", "role"),
    ]), {"company": {"not_given": "declined"}}),
    "en how much before consent": ("en", "whatsapp", [
        ("Hi, how much is it?", PRICE_EN, "consent"),
        ("yes", "what's your name?", "name"),
    ], {}),
    "en is this a bot at name": ("en", "whatsapp", EN_START + [
        ("is this a bot?", "I'm a virtual assistant, not a person", "name"),
        ("John Smith", "Which company", "company"),
    ], {"name": "John Smith"}),
    "en mixed message": ("en", "whatsapp", EN_ROLE + [
        ("I'm the CFO, do you integrate with Salesforce?", "we integrate natively", "need"),
    ], {"role": "director"}),
    "en uncovered question": ("en", "whatsapp", EN_COMPANY + [
        ("do you have an office in Lisbon?", NOTED_EN, "company"),
        ("Globex", "role", "role"),
    ], {"company": "Globex"}),
    "en correction of the role": ("en", "whatsapp", EN_BUDGET + [
        ("actually I'm the CFO", "thanks for the correction", "budget"),
        ("$20k", "When are you hoping", "timeline"),
    ], {"role": "director"}),
    "en role given out of order while the company is open": ("en", "whatsapp", EN_COMPANY + [
        ("actually I'm the CFO", "Which company", "company"),
        ("Globex", "What would you like to solve", "need"),
    ], {"role": "director", "company": "Globex"}),
    "pt cargo given out of order while the company is open": ("pt-BR", "whatsapp", PT_COMPANY + [
        ("na verdade eu sou diretora comercial", "Em qual empresa", "company"),
        ("Acme", "O que você gostaria de resolver", "need"),
    ], {"role": "director", "company": "Acme"}),
    "pt a repeated yes is not a name": ("pt-BR", "whatsapp", PT_START + [
        ("Simmm", "nome", "name"),
        ("Rui", "Em qual empresa", "company"),
    ], {"name": "Rui"}),
    "en name after an ok": ("en", "whatsapp", EN_START + [
        ("ok, it's Mary", "Which company", "company"),
    ], {"name": "Mary"}),
    "pt name after a beleza": ("pt-BR", "whatsapp", PT_START + [
        ("beleza, é Rui", "Em qual empresa", "company"),
    ], {"name": "Rui"}),
    "en july": ("en", "whatsapp", EN_TIMELINE + [("july", "work e-mail", "email")],
                {"timeline": lambda value: value["label"] == "july"}),
    "en end of year": ("en", "whatsapp", EN_TIMELINE + [("end of year", "work e-mail", "email")],
                       {"timeline": lambda value: value["label"] == "end of year"}),
    "en tomorrow at ten": ("en", "whatsapp", EN_TIMELINE + [("tomorrow 10am", "work e-mail", "email")],
                           {"timeline": lambda value: value["months"] == 0.0}),
    "en Q3": ("en", "whatsapp", EN_TIMELINE + [("Q3", "work e-mail", "email")],
              {"timeline": lambda value: value["label"] == "Q3"}),
    "en 2k": ("en", "whatsapp", EN_BUDGET + [("2k", "When are you hoping", "timeline")],
              {"budget": lambda value: value["min"] == 2000}),
    "en budget declined twice": ("en", "whatsapp", EN_BUDGET + [
        ("I'd rather not say", "A rough figure helps the specialist prepare", "budget"),
        ("skip", "we can leave that one blank", "timeline"),
    ], {"budget": {"not_given": "declined"}}),
    "en e-mail declined": ("en", "whatsapp", EN_EMAIL + [
        ("I'd rather you didn't email me", "we can leave that one blank", "qualified"),
    ], {"email": {"not_given": "declined"}}),
    "en callback with time": ("en", "whatsapp", EN_BUDGET + [
        ("can you call me tomorrow at 3pm?", "noted your call request (tomorrow at 3pm)", "budget"),
        ("$20k", "When are you hoping", "timeline"),
    ], {}),
    "en why do you need to know": ("en", "whatsapp", EN_COMPANY + [
        ("why do you need to know?", "so the specialist comes prepared", "company"),
    ], {}),
    "en what do you do at need": ("en", "whatsapp", EN_NEED + [
        ("what do you do?", "answers and qualifies the sales leads", "need"),
        ("We need a CRM", "budget", "budget"),
    ], {"need": "We need a CRM"}),
    "en voice spoken question then a low-confidence answer": ("en", "voice", spoken(EN_START + [
        ("how much is it", "ninety-nine dollars a month", "name"),
    ]), {}),
}


def assert_clean(lead: Lead, said: str) -> None:
    """No slot holds a question or a refusal; an unread answer never ends in disqualification."""
    for slot, value in lead.state.slots.items():
        if isinstance(value, str):
            assert "?" not in value and clause_kind(value) is None, (said, slot, value)
            assert not is_refusal(value), (said, slot, value)
    unread = [value for value in lead.state.slots.values() if isinstance(value, dict) and value.get("not_given") == "unparsed"]
    assert not (unread and lead.state.stage == "disqualified"), (said, lead.state.slots)


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_conversation(flow: Any, name: str) -> None:
    language, channel, script, final = CONVERSATIONS[name]
    lead = Lead(flow, language)
    for number, (text, expected, stage) in enumerate(script, 1):
        result = lead.says(text, channel=channel)
        context = f"turn {number}: {text!r} -> {result.state.stage}: {result.replies}"
        assert result.state.stage == stage, context
        if expected is not None:
            assert expected in lead.reply(), context
        assert_clean(lead, text)
    for slot, expected_value in final.items():
        value = lead.state.slots.get(slot)
        assert expected_value(value) if callable(expected_value) else value == expected_value, (slot, value)


def test_the_table_is_big_enough_and_covers_both_languages_and_channels() -> None:
    languages = {language for language, *_ in CONVERSATIONS.values()}
    channels = {channel for _, channel, *_ in CONVERSATIONS.values()}
    assert len(CONVERSATIONS) >= 40 and languages == {"pt-BR", "en"} and channels == {"whatsapp", "voice"}


def test_a_question_is_answered_then_the_open_question_asked_again(lead: Callable[..., Lead]) -> None:
    ana = lead()
    for text, *_ in PT_ROLE:
        ana.says(text)
    result = ana.says("vcs integram com hubspot?")
    assert result.replies[0].startswith("Sim: integramos nativamente com HubSpot")
    assert result.replies[1].startswith(f"{BACK_PT} Qual destas opções descreve melhor o seu cargo?")
    assert [event.kind for event in result.events] == [EventKind.QUESTION_ASKED]
    assert dict(result.events[0].data) == {"stage": "role", "answered": True, "topic": "integrations"}
    assert ana.state.retries == 0


def test_a_question_never_counts_as_a_failed_answer(lead: Callable[..., Lead]) -> None:
    ana = lead()
    for text, *_ in PT_ROLE:
        ana.says(text)
    for question in ("quanto custa?", "vocês têm escritório em Portugal?", "é um robô?", "tem teste grátis?"):
        ana.says(question)
        assert (ana.state.stage, ana.state.retries) == ("role", 0)
    assert ana.state.open_questions == ("vocês têm escritório em Portugal?",)


def test_unanswered_questions_emit_no_text(lead: Callable[..., Lead]) -> None:
    john = lead("en")
    for text, *_ in EN_COMPANY:
        john.says(text)
    result = john.says("do you have an office in Lisbon?")
    assert [dict(event.data) for event in result.events] == [{"stage": "company", "answered": False}]
    assert [(question.text, question.topic) for question in result.questions] == [("do you have an office in Lisbon?", None)]
    assert BACK_EN in john.reply()


def test_a_correction_rescores_and_can_change_the_outcome(lead: Callable[..., Lead]) -> None:
    ana = lead()
    for text, *_ in PT_NEED[:-1]:
        ana.says(text)
    for text in ("4", "CRM", "500 reais", "mês que vem"):  # analyst, R$ 500: disqualified on budget
        ana.says(text)
    before = ana.state.score
    ana.says("na verdade o orçamento é R$ 30 mil")
    assert ana.state.score == before + 30
    assert ana.says("ana@acme.com.br").state.stage == "qualified"


def test_a_question_while_a_low_confidence_answer_waits_keeps_the_confirmation(lead: Callable[..., Lead]) -> None:
    john = lead("en")
    for text, *_ in EN_START:
        john.says(text, channel="voice")
    assert "I understood John Smith" in " ".join(john.says("John Smith", channel="voice", confirm=True).replies)
    result = john.says("how much is it", channel="voice", confirm=True)
    assert result.replies[0].startswith("Our plans start at ninety-nine dollars a month")
    assert result.replies[-1] == "I understood John Smith — is that right?"
    assert john.says("yes", channel="voice", confirm=True).state.slots["name"] == "John Smith"


def test_corrections_after_the_outcome_are_stored_and_decide_it_again(lead: Callable[..., Lead]) -> None:
    ana = lead()
    for text, *_ in PT_EMAIL:
        ana.says(text)
    assert ana.says("ana@acme.com.br").state.stage == "qualified"
    result = ana.says("errei o e-mail, é ana.souza@acme.com.br")
    assert result.replies == ("Anotado, obrigado pela correção.",)
    assert (ana.state.stage, ana.state.slots["email"]) == ("qualified", "ana.souza@acme.com.br")

    bia = lead()
    for text, *_ in PT_NEED[:-1]:
        bia.says(text)
    for text in ("4", "CRM", "500 reais", "mês que vem", "bia@acme.com"):
        bia.says(text)
    assert (bia.state.stage, bia.state.score) == ("disqualified", 5 + 25)
    result = bia.says("na verdade nosso orçamento é R$ 30 mil")
    assert bia.state.stage == "qualified" and bia.state.score == 5 + 30 + 25
    assert EventKind.QUALIFIED in [event.kind for event in result.events]
