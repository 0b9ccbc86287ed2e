"""Calls through `step` and `call_opening`, table-driven: (caller says, stage after, text expected in the reply[, turn fields]).

Turns are on channel voice unless the row's turn fields say otherwise; a row with {"confirm": True}
is speech the recogniser was unsure of.
"""
from __future__ import annotations

import unicodedata
from datetime import timedelta
from typing import Any, Callable

import pytest

from sdr_agent.qualification import STAGE_NEW, EventKind, Flow, LeadState, Turn, call_opening, step
from sdr_agent.qualification.textnorm import URL_PATTERN

from .support import NOW, Lead

Row = tuple[str, str, str] | tuple[str, str, str, dict[str, Any]]
Script = list[Row]
LOW = {"confirm": True}
WHATSAPP = {"channel": "whatsapp"}

PT_TO_COMPANY: Script = [
    ("sim", "name", "qual é o seu nome?"),
    ("Ana Souza", "company", "Prazer! Em qual empresa você trabalha?"),
]
PT_TO_EMAIL: Script = PT_TO_COMPANY + [
    ("Acme", "role", "Pode dizer o número ou o nome da opção. Opção 1, Sócio, fundador ou CEO; opção 2, Diretor, VP ou Head;"),
    ("sou a fundadora", "need", "O que você gostaria de resolver"),
    ("automatizar o atendimento", "budget", "como cinco mil reais por mês, ou entre dez e vinte mil."),
    ("cinquenta mil reais por mês", "timeline", "para quando vocês pretendem começar"),
    ("este mês", "email", "Para não errar seu e-mail, vou te mandar uma mensagem no WhatsApp para você digitar. Obrigado pela ligação!"),
]
EN_TO_EMAIL: Script = [
    ("yes, sure", "name", "what's your name?"),
    ("John Smith", "company", "Which company do you work for?"),
    ("Globex", "role", "You can say the number or the name of the option. Option 1, Founder, owner or CEO; option 2,"),
    ("astronaut", "role", "Please say the number or the name of one of these options. Option 1, Founder"),
    ("option two", "need", "What would you like to solve"),
    ("we need a CRM for the sales team", "budget", "like two thousand dollars a month, or between ten and twenty thousand."),
    ("a lot", "budget", "Could you say a rough number, like ten thousand dollars? If you don't know yet, say not sure."),
    ("$20,000 a month", "timeline", "When are you hoping to get started?"),
    ("next month", "email", "So I don't get your e-mail wrong, I'll send you a WhatsApp message so you can type it."),
]

CALLS: dict[str, tuple[str, Script]] = {
    "happy path pt-BR to the e-mail deferral": ("pt-BR", PT_TO_EMAIL),
    "happy path en to the e-mail deferral": ("en", EN_TO_EMAIL),
    "consent retry is spoken": ("pt-BR", [
        ("hã, depende", "consent", "Desculpe, não entendi. Posso fazer algumas perguntas rápidas? Diga sim ou não."),
    ]),
    "chat markdown never reaches the call": ("pt-BR", PT_TO_COMPANY + [
        ("Acme", "role", "Opção 1"),
        ("CEO", "need", "O que você gostaria"),
        ("CRM", "budget", "orçamento"),
        ("50 mil", "timeline", "para quando"),
        ("quando der", "timeline", "Pode dizer algo como mês que vem ou em 3 meses? Se ainda não souber, responda não sei."),
    ]),
    "low confidence, yes stores": ("pt-BR", PT_TO_COMPANY + [
        ("Acme", "company", "Entendi Acme, está certo?", LOW),
        ("sim", "role", "Qual destas opções"),
    ]),
    "low confidence, no asks again": ("pt-BR", PT_TO_COMPANY + [
        ("Acne", "company", "Entendi Acne, está certo?", LOW),
        ("não", "company", "Prazer! Em qual empresa você trabalha?"),
        ("Acme", "role", "Qual destas opções"),
    ]),
    "low confidence, another answer is read afresh": ("pt-BR", PT_TO_COMPANY + [
        ("Acne", "company", "Entendi Acne, está certo?", LOW),
        ("Acme Brasil", "company", "Entendi Acme Brasil, está certo?", LOW),
        ("Acme", "role", "Qual destas opções"),
    ]),
    "low confidence, an unreadable answer is a retry": ("pt-BR", PT_TO_COMPANY + [
        ("Acme", "company", "Entendi Acme", LOW),
        ("hmm", "company", "Não entendi o nome da empresa. Pode dizer só o nome dela? Se você trabalha por conta própria, diga autônomo.", LOW),
    ]),
    "low confidence, silence asks for the confirmation again": ("pt-BR", PT_TO_COMPANY + [
        ("Acme", "company", "Entendi Acme, está certo?", LOW),
        ("", "company", "Entendi Acme, está certo?"),
        ("isso mesmo", "role", "Qual destas opções"),
    ]),
    "low confidence, an intent wins": ("pt-BR", PT_TO_COMPANY + [
        ("Acme", "company", "Entendi Acme", LOW),
        ("ajuda", "company", "Você pode dizer falar com atendente, recomeçar, ou parar."),
        ("sim", "company", "Não entendi o nome da empresa"),  # the answer set aside is gone
    ]),
    "low confidence, handoff wins": ("en", EN_TO_EMAIL[:2] + [
        ("Globex", "company", "I understood Globex — is that right?", LOW),
        ("talk to a person", "handoff", "Someone from our team will get in touch with you shortly. Goodbye!"),
    ]),
    "low confidence choice is said back as its label": ("pt-BR", PT_TO_EMAIL[:3] + [
        ("sou a fundadora", "role", "Entendi Sócio, fundador ou CEO, está certo?", LOW),
        ("pode ser", "need", "O que você gostaria de resolver"),
    ]),
    "low confidence money said in words": ("pt-BR", PT_TO_EMAIL[:5] + [
        ("dois mil e quinhentos reais por mês", "budget", "Entendi R$ 2.500 por mês, está certo?", LOW),
        ("não", "budget", "Vocês já têm um orçamento estimado para isso?"),
        ("vinte e cinco mil", "budget", "Entendi R$ 25.000, está certo?", LOW),
        ("certo", "timeline", "para quando"),
    ]),
    "low confidence money and timeframe in en": ("en", EN_TO_EMAIL[:6] + [
        ("$20k a month", "budget", "I understood $20,000 a month — is that right?", LOW),
        ("yes", "timeline", "When are you hoping"),
        ("in 3 months", "timeline", "I understood in 3 months — is that right?", LOW),
        ("no", "timeline", "When are you hoping"),
        ("next month", "timeline", "I understood next month — is that right?", LOW),
        ("yeah", "email", "I'll send you a WhatsApp message"),
    ]),
    "consent is never confirmed": ("pt-BR", [
        ("sim", "name", "qual é o seu nome?", LOW),
    ]),
    "deferral, then WhatsApp greets and finishes": ("pt-BR", PT_TO_EMAIL + [
        ("oi", "email", "Oi! Como combinamos na ligação, vamos terminar por aqui.\nPor último: qual é o seu e-mail profissional?", WHATSAPP),
        ("ana@acme.com", "qualified", "Obrigado, Ana Souza!", WHATSAPP),
    ]),
    "deferral, then the e-mail arrives straight away": ("en", EN_TO_EMAIL + [
        ("john@globex.com", "qualified", "Thanks, John Smith!", WHATSAPP),
    ]),
    "deferral, then a wrong e-mail on WhatsApp is just asked again": ("pt-BR", PT_TO_EMAIL + [
        ("ana arroba acme", "email", "Como combinamos na ligação", WHATSAPP),
        ("ana arroba acme", "email", "Esse e-mail não parece válido", WHATSAPP),
    ]),
    "deferral, then the caller speaks again": ("pt-BR", PT_TO_EMAIL + [
        ("meu e-mail é ana arroba acme ponto com", "email", "Para não errar seu e-mail"),
    ]),
}


def speakable_reply(reply: str) -> bool:
    """No emoji, links, markdown, line breaks or numbered lines: a voice can read it as it is."""
    return (
        all(unicodedata.category(char) != "So" for char in reply)
        and not URL_PATTERN.search(reply)
        and not any(mark in reply for mark in ("*", "`", "\n", "(sim/não)", "(yes/no)", "1)", "(a)"))
    )


def run_call(flow: Flow, language: str, script: Script) -> Lead:
    caller = Lead(flow, language)
    opening = call_opening(flow, caller.state, NOW)
    caller.state = opening.state
    assert all(speakable_reply(reply) for reply in opening.replies)
    for number, (text, stage, expected, *fields) in enumerate(script, 1):
        turn_fields = {"channel": "voice", **(fields[0] if fields else {})}
        result = caller.says(text, **turn_fields)
        context = f"turn {number}: {text!r} -> {result.state.stage}: {result.replies}"
        assert result.state.stage == stage, context
        assert expected in caller.reply(), context
        if turn_fields["channel"] == "voice":
            assert all(speakable_reply(reply) for reply in result.replies), context
    return caller


@pytest.mark.parametrize("name", list(CALLS))
def test_call(flow: Flow, name: str) -> None:
    language, script = CALLS[name]
    run_call(flow, language, script)


def test_call_happy_path_stores_every_answer_but_the_email(flow: Flow) -> None:
    ana = run_call(flow, "pt-BR", PT_TO_EMAIL)
    assert ana.state.slots == {
        "consent": True, "name": "Ana Souza", "company": "Acme", "role": "founder", "need": "automatizar o atendimento",
        "budget": {"min": 50000.0, "max": 50000.0, "currency": "BRL", "period": "month"},
        "timeline": {"months": 0.5, "label": "this month"},
    }
    assert ana.state.deferred == ("email",)
    assert [(event.kind, dict(event.data)) for event in ana.result.events] == [
        (EventKind.SLOT_FILLED, {"slot": "timeline", "stage": "timeline"}),
        (EventKind.STAGE_CHANGED, {"from": "timeline", "to": "email"}),
        (EventKind.DEFERRED_TO_WHATSAPP, {"slot": "email"}),
    ]
    assert ana.result.replies == (flow.text("email_by_whatsapp", "pt-BR"),)


def test_low_confidence_answer_waits_for_a_yes(flow: Flow) -> None:
    john = run_call(flow, "en", EN_TO_EMAIL[:6])
    result = john.says("$20k a month", channel="voice", confirm=True)
    assert "budget" not in john.state.slots and john.state.score == 15
    assert john.state.pending == {
        "stage": "budget", "value": {"min": 20000.0, "max": 20000.0, "currency": "USD", "period": "month"}, "heard": "$20,000 a month",
    }
    assert [(event.kind, dict(event.data)) for event in result.events] == [(EventKind.CONFIRMATION_REQUESTED, {"stage": "budget"})]
    confirmed = john.says("yes", channel="voice")
    # The same as a direct answer: stored, scored, the next question asked.
    direct = run_call(flow, "en", EN_TO_EMAIL[:6])
    direct.says("$20k a month", channel="voice")
    assert (confirmed.state, confirmed.replies, confirmed.events) == (direct.state, direct.result.replies, direct.result.events)
    assert confirmed.state.pending is None and confirmed.state.slots["budget"]["min"] == 20000.0


def test_no_clears_the_answer_set_aside_without_counting_a_retry(flow: Flow) -> None:
    ana = run_call(flow, "pt-BR", PT_TO_COMPANY)
    ana.says("Acne", channel="voice", confirm=True)
    result = ana.says("não", channel="voice")
    assert (result.state.pending, result.state.retries, result.events) == (None, 0, ())
    assert "company" not in result.state.slots


def test_low_confidence_turn_fills_nothing_on_the_side(flow: Flow) -> None:
    ana = run_call(flow, "pt-BR", PT_TO_COMPANY)
    ana.says("Acme, meu e-mail é ana@acme.com e o orçamento é R$ 30 mil", channel="voice", confirm=True)
    assert ana.state.pending is not None and ana.state.pending["value"] == "Acme"
    assert set(ana.state.slots) == {"consent", "name"}
    ana.says("sim", channel="voice")
    assert set(ana.state.slots) == {"consent", "name", "company"}


def test_confident_turn_still_fills_slots_on_the_side(flow: Flow) -> None:
    ana = run_call(flow, "pt-BR", PT_TO_COMPANY)
    ana.says("Acme, meu e-mail é ana@acme.com", channel="voice")
    assert (ana.state.slots["company"], ana.state.slots["email"]) == ("Acme", "ana@acme.com")


def test_silence_on_a_call_repeats_the_question_without_a_retry(flow: Flow) -> None:
    ana = run_call(flow, "pt-BR", PT_TO_EMAIL[:3])
    ana.says("astronauta", channel="voice")
    assert ana.state.retries == 1
    result = ana.says("", channel="voice")
    assert result.replies == (flow.question_stage("role").ask("pt-BR", voice=True),)
    assert (result.events, result.state.retries, result.state.stage) == ((), 1, "role")


@pytest.mark.parametrize("text", ["", "ana@acme.com", "meu e-mail é ana arroba acme", "blá"])
def test_a_call_never_takes_the_deferred_answer(flow: Flow, text: str) -> None:
    ana = run_call(flow, "pt-BR", PT_TO_EMAIL)
    again = ana.says(text, channel="voice")
    assert again.replies == (flow.text("email_by_whatsapp", "pt-BR"),)
    assert [(event.kind, dict(event.data)) for event in again.events] == [(EventKind.DEFERRED_TO_WHATSAPP, {"slot": "email"})]
    assert (again.state.deferred, again.state.retries, again.state.stage) == (("email",), 0, "email")
    assert "email" not in again.state.slots


def test_help_on_whatsapp_before_the_deferred_question_keeps_the_lead_in_for_later(flow: Flow) -> None:
    ana = run_call(flow, "pt-BR", PT_TO_EMAIL)
    ana.says("ajuda", channel="whatsapp")
    assert ana.state.deferred == ("email",)
    result = ana.says("oi", channel="whatsapp")
    assert result.replies[0] == flow.text("deferred_lead_in", "pt-BR")
    assert (result.state.deferred, result.state.retries, result.events) == ((), 0, ())


def test_deferred_question_answered_on_whatsapp_scores_as_usual(flow: Flow) -> None:
    ana = run_call(flow, "pt-BR", PT_TO_EMAIL)
    result = ana.says("ana@acme.com", channel="whatsapp", resumed=True, now=NOW + timedelta(hours=1))
    assert [event.kind for event in result.events] == [EventKind.SLOT_FILLED, EventKind.STAGE_CHANGED, EventKind.QUALIFIED]
    assert (result.state.slots["email"], result.state.deferred, result.state.score) == ("ana@acme.com", (), 20 + 30 + 25)


# --- call_opening -----------------------------------------------------------------------------


def lead_at(flow: Flow, stage: str, language: str = "pt-BR", **fields: Any) -> LeadState:
    """A lead who answered every question before `stage`."""
    answers = {"consent": True, "name": "Ana Souza", "company": "Acme", "role": "founder", "need": "CRM",
               "budget": {"min": 50000.0, "max": 50000.0, "currency": "BRL", "period": None},
               "timeline": {"months": 1.0, "label": "next month"}}
    before = flow.stage_ids[: flow.stage_ids.index(stage)]
    return LeadState(stage=stage, language=language, slots={slot: answers[slot] for slot in before}, **fields)


def test_opening_for_a_new_lead_is_the_first_message_greeting(flow: Flow) -> None:
    opening = call_opening(flow, LeadState(), NOW)
    first_message = step(flow, LeadState(), Turn(text="oi", now=NOW))
    assert opening.replies == (flow.question_stage("consent").ask("pt-BR", voice=True),)
    assert (opening.state, opening.events) == (first_message.state, first_message.events)
    assert [dict(event.data) for event in opening.events] == [{"from": STAGE_NEW, "to": "consent"}]


@pytest.mark.parametrize(
    ("stage", "language", "welcome"),
    [
        ("budget", "pt-BR", "Que bom falar com você de novo, Ana Souza! Estávamos falando sobre o seu orçamento."),
        ("role", "en", "Welcome back, Ana Souza — we were talking about your role."),
        ("name", "pt-BR", "Que bom falar com você de novo! Estávamos falando sobre o seu nome."),
        ("name", "en", "Welcome back — we were talking about your name."),
        ("consent", "en", "Welcome back — we were talking about a few quick questions about what you need."),
    ],
)
def test_opening_mid_flow_welcomes_back_and_asks_the_open_question(flow: Flow, stage: str, language: str, welcome: str) -> None:
    state = lead_at(flow, stage, language)
    opening = call_opening(flow, state, NOW)
    assert opening.replies == (welcome, flow.question_stage(stage).ask(language, voice=True))
    assert (opening.state, opening.events) == (state, ())


def test_opening_drops_an_answer_left_unconfirmed(flow: Flow) -> None:
    state = lead_at(flow, "company", pending={"stage": "company", "value": "Acne", "heard": "Acne"})
    opening = call_opening(flow, state, NOW)
    assert opening.state.pending is None
    assert opening.replies[-1] == flow.question_stage("company").ask("pt-BR", voice=True)


@pytest.mark.parametrize("deferred", [("email",), ()])
def test_opening_at_a_question_for_whatsapp_says_so_again(flow: Flow, deferred: tuple[str, ...]) -> None:
    # Reached on a call (deferred) or on WhatsApp (not yet): either way a call does not ask it.
    opening = call_opening(flow, lead_at(flow, "email", "en", deferred=deferred), NOW)
    assert opening.replies == (
        "Welcome back, Ana Souza — we were talking about your e-mail.", flow.text("email_by_whatsapp", "en"),
    )
    assert [(event.kind, dict(event.data)) for event in opening.events] == [(EventKind.DEFERRED_TO_WHATSAPP, {"slot": "email"})]
    assert opening.state.deferred == ("email",)


@pytest.mark.parametrize("stage", ["qualified", "disqualified", "declined"])
def test_opening_after_the_end_says_where_things_stand(flow: Flow, stage: str) -> None:
    opening = call_opening(flow, LeadState(stage=stage), NOW)
    assert opening.replies == ("Obrigado pelo contato! Nosso time segue à disposição. Até logo!",)
    assert opening.events == ()


def test_opening_for_a_lead_waiting_for_a_person_says_one_will_call(flow: Flow) -> None:
    opening = call_opening(flow, LeadState(stage="handoff", handed_off=True), NOW)
    assert opening.replies == (flow.text("handoff_waiting", "pt-BR", voice=True),)
    assert opening.events == ()


def test_opening_for_an_opted_out_lead(flow: Flow) -> None:
    state = lead_at(flow, "budget", "en", opted_out=True)
    opening = call_opening(flow, state, NOW)
    assert opening.replies == ("You asked us not to contact you anymore. To come back, say start.",)
    assert (opening.state, opening.events) == (state, ())


def test_opening_in_a_language_the_flow_lacks_uses_the_first(flow: Flow) -> None:
    opening = call_opening(flow, lead_at(flow, "company", "es"), NOW)
    assert opening.state.language == "pt-BR"
    assert opening.replies[0].startswith("Que bom falar com você de novo")


# --- stored state -----------------------------------------------------------------------------


def test_state_stored_before_calls_still_loads(lead: Callable[..., Lead]) -> None:
    old = {"stage": "budget", "language": "en", "slots": {"name": "Ana"}, "retries": 1, "score": 10,
           "score_reasons": ["role = manager: +10"], "opted_out": False, "handed_off": False,
           "stage_entered_at": "2026-03-02T13:00:00+00:00"}
    state = LeadState.from_dict(old)
    assert (state.pending, state.deferred, state.stage, state.retries) == (None, (), "budget", 1)
    assert state.to_dict() == {**old, "pending": None, "deferred": [], "booking": None, "open_questions": [],
                               "callback": None, "waiting_ack_at": None, "held": None}


def test_state_with_call_fields_round_trips() -> None:
    state = LeadState(stage="email", pending={"stage": "email", "value": "a@b.co", "heard": "a@b.co"}, deferred=("email",))
    assert LeadState.from_dict(state.to_dict()) == state
    assert LeadState.from_dict({**state.to_dict(), "pending": "garbage", "deferred": None}).pending is None
