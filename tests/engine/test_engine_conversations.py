"""Full conversations through `step`, table-driven: (lead says, stage after, text expected in the reply[, slots]).

An expected text of None means the engine must stay silent (no reply at all). The optional fourth
item lists slot values that must be stored after that message.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable

import pytest

from sdr_agent.qualification import EventKind, Flow, LeadState

from .support import NOW, Lead

Row = tuple[str, str, str | None] | tuple[str, str, str | None, dict[str, Any]]
Script = list[Row]

PT_TO_NAME: Script = [
    ("Oi, quero saber mais sobre o produto", "consent", "Posso fazer algumas perguntas rápidas"),
    ("sim", "name", "qual é o seu nome?"),
]
PT_TO_ROLE: Script = PT_TO_NAME + [
    ("Ana Souza", "company", "Prazer! Em qual empresa você trabalha?", {"name": "Ana Souza"}),
    ("Acme", "role", "1) Sócio(a), fundador(a) ou CEO"),
]
PT_TO_BUDGET: Script = PT_TO_ROLE + [
    ("sou gerente de vendas", "need", "O que você gostaria de resolver"),
    ("Precisamos organizar o funil de vendas", "budget", "orçamento estimado"),
]
PT_TO_EMAIL: Script = PT_TO_BUDGET + [
    ("R$ 20.000,00 por mês", "timeline", "para quando vocês pretendem começar"),
    ("daqui a 2 meses", "email", "qual é o seu e-mail profissional?"),
]
EN_TO_NAME: Script = [
    ("Hello, I would like to know more about your product", "consent", "May I ask you a few quick questions"),
    ("yes", "name", "what's your name?"),
]

CONVERSATIONS: dict[str, tuple[str, Script]] = {
    "happy path pt-BR": ("pt-BR", PT_TO_NAME + [
        ("Meu nome é ana souza", "company", "Prazer!", {"name": "Ana Souza"}),
        ("Trabalho na Acme Ltda", "role", "Qual destas opções descreve melhor o seu cargo?"),
        ("1", "need", "O que você gostaria de resolver"),
        ("Queremos automatizar o atendimento no WhatsApp", "budget", "orçamento estimado"),
        ("uns 50 mil", "timeline", "para quando vocês pretendem começar"),
        ("mês que vem", "email", "e-mail profissional"),
        ("ana.souza@acme.com.br", "qualified", "Um especialista vai falar com você por aqui para propor alguns horários"),
    ]),
    "happy path en": ("en", EN_TO_NAME + [
        ("My name is John Smith", "company", "Nice to meet you! Which company", {"name": "John Smith"}),
        ("I work at Globex", "role", "1) Founder, owner or CEO"),
        ("VP of Sales", "need", "What would you like to solve"),
        ("We need a CRM for our sales team", "budget", "estimated budget"),
        ("$5,000/month", "timeline", "When are you hoping to get started?"),
        ("ASAP", "email", "what's your work e-mail?"),
        ("my email is john@globex.com", "qualified", "A specialist will reach out here to propose a few meeting times"),
    ]),
    "name rejected then accepted": ("pt-BR", PT_TO_NAME + [
        ("12345", "name", "Não consegui entender o seu nome. Pode me dizer só o nome?"),
        ("é Maria Eduarda dos Santos", "company", "Prazer!", {"name": "Maria Eduarda dos Santos"}),
    ]),
    "company rejected then self-employed": ("pt-BR", PT_TO_ROLE[:3] + [
        ("não tenho", "company", "responda *autônomo*"),
        ("sou autônomo", "role", "Qual destas opções"),
    ]),
    "choice rejected then number": ("pt-BR", PT_TO_ROLE + [
        ("astronauta", "role", "Não identifiquei o cargo"),
        ("opção 2", "need", "O que você gostaria de resolver"),
    ]),
    "free text rejected": ("pt-BR", PT_TO_ROLE + [
        ("Diretora comercial", "need", "O que você gostaria de resolver"),
        ("ok", "need", "Pode me contar um pouco mais?"),
        ("CRM", "budget", "orçamento estimado"),
    ]),
    "money rejected then unknown accepted": ("pt-BR", PT_TO_BUDGET + [
        ("bastante", "budget", "Não consegui entender o valor"),
        ("ainda não sei", "timeline", "para quando vocês pretendem começar"),
    ]),
    "timeframe rejected then accepted": ("pt-BR", PT_TO_EMAIL[:-1] + [
        ("quando der", "timeline", "Não entendi o prazo"),
        ("até o fim do ano", "email", "e-mail profissional"),
    ]),
    "email rejected then accepted": ("pt-BR", PT_TO_EMAIL + [
        ("ana arroba acme", "email", "Esse e-mail não parece válido"),
        ("é ana@acme.com.br", "qualified", "Obrigado, Ana Souza!"),
    ]),
    "en rejections": ("en", EN_TO_NAME + [
        ("hello", "name", "I couldn't catch your name"),
        ("Jane", "company", "Nice to meet you!", {"name": "Jane"}),
        ("none", "company", "I didn't catch the company name"),
        ("self-employed", "role", "Which of these"),
        ("astronaut", "role", "I couldn't match your role"),
        ("5", "need", "What would you like to solve"),
        ("I want to sell more", "budget", "estimated budget"),
        ("a lot", "budget", "I couldn't read that amount"),
        ("not sure", "timeline", "When are you hoping"),
        ("whenever", "timeline", "I didn't get the timing"),
        ("next quarter", "email", "work e-mail"),
        ("jane at home", "email", "That e-mail doesn't look right"),
        ("jane@example.org", "disqualified", "I'll pass everything on to our team"),  # low score, no rule: neutral
    ]),
    "retry limit skips the e-mail and still scores": ("pt-BR", PT_TO_EMAIL + [
        ("não tenho", "email", "Esse e-mail não parece válido"),
        ("thx!", "qualified", "Sem problemas, vamos seguir em frente."),
    ]),
    "retry limit skips the name": ("pt-BR", PT_TO_NAME + [
        ("???!!!", "name", "Não consegui entender o seu nome"),
        ("123", "company", "Sem problemas, vamos seguir em frente.\nPrazer! Em qual empresa", {"name": {"not_given": "unparsed"}}),
    ]),
    "retry limit at consent hands off": ("pt-BR", [
        ("Oi", "consent", "(sim/não)"),
        ("depende do que for", "consent", "Responda *sim* ou *não*"),
        ("acho que mais pra frente", "handoff", "Uma pessoa do nosso time vai responder por aqui em breve."),
        ("alô?", "handoff", "Recebi sua mensagem! Uma pessoa do nosso time vai responder"),  # never silent
        ("tem alguém aí?", "handoff", None),  # but at most once per interval
    ]),
    "multi-slot message skips answered questions": ("pt-BR", [
        ("Oi", "consent", "(sim/não)"),
        ("Sou a Ana da Acme, meu e-mail é ana@acme.com", "role", "Qual destas opções"),
        ("CEO", "need", "O que você gostaria de resolver"),
        ("Preciso de um CRM; orçamento de uns 30 mil e queremos começar mês que vem", "qualified", "Obrigado, Ana!"),
    ]),
    "first message fills slots and still asks consent": ("en", [
        ("Hi, this is Bob from Initech, my email is bob@initech.com", "consent", "May I ask you a few quick questions"),
        ("sure", "role", "Which of these"),
    ]),
    "side extraction never overwrites": ("pt-BR", PT_TO_ROLE + [
        ("Sou gerente, trabalho na Globex", "need", "O que você gostaria de resolver"),
    ]),
    "restart mid-flow": ("pt-BR", PT_TO_BUDGET + [
        ("recomeçar", "consent", "Sem problemas, vamos começar de novo.\nOlá!"),
        ("sim", "name", "qual é o seu nome?"),
    ]),
    "opt-out confirms once then silence, opt-in resumes": ("pt-BR", PT_TO_ROLE + [
        ("PARAR", "role", "você não vai mais receber mensagens nossas"),
        ("oi", "role", None),
        ("Stop!", "role", None),
        ("ajuda", "role", None),
        ("recomeçar", "role", None),
        ("VOLTAR", "role", "Que bom ter você de volta! Vamos continuar de onde paramos.\nQual destas opções"),
        ("3", "need", "O que você gostaria de resolver"),
    ]),
    "help shows help and repeats the question": ("pt-BR", PT_TO_NAME + [
        ("ajuda", "name", "Sou o assistente virtual do time comercial: faço algumas perguntas"),
        ("?", "name", "qual é o seu nome?"),
        ("Ana", "company", "Prazer!", {"name": "Ana"}),
    ]),
    "help as the first message": ("en", [
        ("help", "consent", "I'm the sales team's virtual assistant: I ask a few quick questions"),
    ]),
    "explicit language switch pt to en": ("pt-BR", PT_TO_NAME + [
        ("English please", "name", "what's your name?"),
        ("Paulo", "company", "Nice to meet you!", {"name": "Paulo"}),
    ]),
    "detected language switch pt to en": ("pt-BR", PT_TO_NAME + [
        ("Sorry, I don't speak Portuguese. My name is Mark Brown", "company", "Nice to meet you!", {"name": "Mark Brown"}),
    ]),
    "detected language switch en to pt": ("en", [
        ("Oi, tudo bem? Quero saber mais sobre vocês", "consent", "Posso fazer algumas perguntas rápidas"),
        ("em inglês", "consent", "May I ask you"),
        ("em português", "consent", "Posso fazer"),
    ]),
    "no switch on short or neutral answers": ("pt-BR", PT_TO_NAME + [
        ("John Smith", "company", "Prazer!", {"name": "John Smith"}),
        ("Acme Corporation", "role", "Qual destas opções"),
        ("ok", "role", "Não identifiquei o cargo"),
        ("CEO", "need", "O que você gostaria"),
        ("Sales CRM", "budget", "orçamento estimado"),
        ("$ 20k", "timeline", "para quando"),
        ("ASAP", "email", "e-mail profissional"),
        ("john@acme.com", "qualified", "Obrigado, John Smith!"),
    ]),
    "disqualified by rule": ("pt-BR", PT_TO_BUDGET + [
        ("uns 500 reais", "timeline", "para quando"),
        ("este mês", "email", "e-mail"),
        ("ana@acme.com", "disqualified", "Neste momento talvez não sejamos a melhor opção"),
    ]),
    "disqualified by low score": ("en", EN_TO_NAME + [
        ("Jane Doe", "company", "Which company"),
        ("Umbrella", "role", "Which of these"),
        ("4", "need", "What would you like to solve"),
        ("Curious about pricing", "budget", "budget"),
        ("don't know yet", "timeline", "When"),
        ("next year", "email", "e-mail"),
        ("jane@umbrella.com", "disqualified", "a specialist will reach out here"),  # not "not the best fit"
    ]),
    "declined consent": ("pt-BR", [
        ("Boa tarde", "consent", "(sim/não)"),
        ("agora não", "declined", "Tudo bem! Se quiser conversar depois"),
        ("oi", "declined", "Se quiser começar de novo, digite *recomeçar*"),
    ]),
    "done after qualified, restart allowed": ("pt-BR", PT_TO_EMAIL + [
        ("ana@acme.com", "qualified", "Obrigado, Ana Souza!"),
        ("oi, e agora?", "qualified", "Se quiser começar de novo, digite *recomeçar*"),
        ("start over", "consent", "vamos começar de novo"),
    ]),
}

HANDOFF_PHRASES = ["quero falar com um atendente", "falar com humano", "Atendente!", "talk to a person", "human please", "representative"]


def run_script(lead: Lead, script: Script) -> None:
    for number, (text, stage, expected, *slots) in enumerate(script, 1):
        result = lead.says(text)
        context = f"turn {number}: {text!r} -> {result.state.stage}: {result.replies}"
        assert result.state.stage == stage, context
        if expected is None:
            assert result.replies == (), context
            assert result.events == (), context
        else:
            assert expected in lead.reply(), context
        for expected_slots in slots:
            assert {key: result.state.slots.get(key) for key in expected_slots} == expected_slots, context


@pytest.mark.parametrize("name", list(CONVERSATIONS))
def test_conversation(name: str, lead: Callable[..., Lead]) -> None:
    language, script = CONVERSATIONS[name]
    run_script(lead(language), script)


def test_happy_path_fills_every_slot_and_scores(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, CONVERSATIONS["happy path pt-BR"][1])
    state = ana.state
    assert state.slots == {
        "consent": True,
        "name": "Ana Souza",
        "company": "Acme Ltda",
        "role": "founder",
        "need": "Queremos automatizar o atendimento no WhatsApp",
        "budget": {"min": 50000.0, "max": 50000.0, "currency": "BRL", "period": None},
        "timeline": {"months": 1.0, "label": "next month"},
        "email": "ana.souza@acme.com.br",
    }
    assert state.score == 75
    assert state.score_reasons == ("role = founder: +20", "budget >= 10000: +30", "timeline <= 1: +25")
    assert ana.event_kinds() == ["slot_filled", "stage_changed", "qualified"]
    assert dict(ana.result.events[-1].data) == {"score": 75}


def test_multi_slot_message_reports_each_slot(lead: Callable[..., Lead]) -> None:
    ana = lead()
    ana.says("Oi")
    result = ana.says("Sou a Ana da Acme, meu e-mail é ana@acme.com")
    filled = [event.data["slot"] for event in result.events if event.kind is EventKind.SLOT_FILLED]
    assert filled == ["name", "company", "email", "consent"]
    assert {key: ana.state.slots[key] for key in ("name", "company", "email")} == {
        "name": "Ana", "company": "Acme", "email": "ana@acme.com",
    }
    assert ana.state.retries == 0


def test_side_extraction_does_not_overwrite(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, CONVERSATIONS["side extraction never overwrites"][1])
    assert ana.state.slots["company"] == "Acme"
    assert ana.state.slots["role"] == "manager"


def test_retry_counter_and_reset_on_stage_change(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, PT_TO_NAME)
    ana.says("12345")
    assert ana.state.retries == 1
    assert ana.result.events[0].kind is EventKind.SLOT_REJECTED
    assert dict(ana.result.events[0].data) == {"slot": "name", "retries": 1}
    ana.says("Ana")
    assert ana.state.retries == 0


def test_retry_limit_skip_stores_not_given_never_the_text(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, CONVERSATIONS["retry limit skips the e-mail and still scores"][1])
    assert ana.state.slots["email"] == {"not_given": "unparsed"}
    assert ana.state.score == 10 + 30 + 15


def test_retry_limit_handoff_reason(lead: Callable[..., Lead]) -> None:
    ana = lead()
    ana.says("Oi")
    ana.says("depende do que for")
    result = ana.says("acho que mais pra frente")
    handoff = [event for event in result.events if event.kind is EventKind.HANDOFF_REQUESTED]
    assert [dict(event.data) for event in handoff] == [{"reason": "retry_limit"}]
    assert ana.state.handed_off is True


def test_restart_clears_everything_but_language(lead: Callable[..., Lead]) -> None:
    john = lead("en")
    run_script(john, CONVERSATIONS["happy path en"][1][:6])
    result = john.says("restart")
    assert result.events[0].kind is EventKind.RESET_REQUESTED
    assert dict(result.events[0].data) == {"reason": "user_requested"}
    assert john.state == LeadState(stage="consent", language="en", stage_entered_at=NOW.isoformat())


@pytest.mark.parametrize("at_stage", ["new", "consent", "name", "company", "role", "need", "budget", "timeline", "email", "qualified", "declined"])
@pytest.mark.parametrize("phrase", HANDOFF_PHRASES)
def test_handoff_from_any_stage(lead: Callable[..., Lead], flow: Flow, at_stage: str, phrase: str) -> None:
    ana = lead()
    if at_stage == "declined":
        ana.says("Oi")
        ana.says("não")
    else:
        for text, *_ in PT_TO_EMAIL + [("ana@acme.com", "qualified", "")]:
            if ana.state.stage == at_stage:
                break
            ana.says(text)
    assert ana.state.stage == at_stage
    result = ana.says(phrase)
    assert result.state.stage == "handoff"
    assert result.state.handed_off is True
    assert flow.text("handoff", ana.state.language) in result.replies
    assert {"reason": "user_requested"} in [dict(event.data) for event in result.events if event.kind is EventKind.HANDOFF_REQUESTED]
    # A person will answer now: the next message is told so once; then quiet, even for another
    # handoff request or help.
    waiting = ana.says("oi")
    assert (waiting.replies, waiting.events) == ((flow.text("handoff_waiting", ana.state.language),), ())
    for text in ("ajuda", "falar com humano", ""):
        quiet = ana.says(text)
        assert (quiet.replies, quiet.events) == ((), ())


def test_restart_after_handoff_returns_to_the_bot(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, PT_TO_NAME)
    ana.says("falar com atendente")
    result = ana.says("recomeçar")
    assert result.state.stage == "consent"
    assert result.state.handed_off is False


def test_opt_out_events_and_flags(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, PT_TO_NAME)
    result = ana.says("  sair. ")
    assert [event.kind for event in result.events] == [EventKind.OPTED_OUT]
    assert ana.state.opted_out is True
    result = ana.says("start")
    assert [event.kind for event in result.events] == [EventKind.OPTED_IN]
    assert ana.state.opted_out is False
    assert "qual é o seu nome?" in ana.reply()


def test_opt_out_at_first_message_then_silence(lead: Callable[..., Lead]) -> None:
    ana = lead()
    first = ana.says("STOP")
    assert first.replies and first.state.opted_out
    assert ana.says("oi").replies == ()
    assert ana.says("", has_media=True).replies == ()


def test_opt_in_word_while_subscribed_just_repeats_the_question(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, PT_TO_NAME)
    result = ana.says("voltar")
    assert result.events == ()
    assert result.state.stage == "name" and result.state.retries == 0
    assert "qual é o seu nome?" in ana.reply()


def test_help_counts_no_retry_and_reports_the_stage(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, PT_TO_NAME)
    ana.says("12345")
    result = ana.says("Ajuda!")
    assert ana.state.retries == 1
    assert [(event.kind, dict(event.data)) for event in result.events] == [(EventKind.HELP_SHOWN, {"stage": "name"})]


def test_language_change_event_and_reply_language(lead: Callable[..., Lead], flow: Flow) -> None:
    ana = lead()
    run_script(ana, PT_TO_NAME)
    result = ana.says("Could we continue in English? I would like that")
    assert [(event.kind, dict(event.data)) for event in result.events][:1] == [
        (EventKind.LANGUAGE_CHANGED, {"from": "pt-BR", "to": "en"})
    ]
    assert ana.state.language == "en"
    assert flow.question_stage("name").retry("en") in result.replies


@pytest.mark.parametrize("text", ["ok", "Acme", "ana@acme.com", "John Smith", "123", "👍", "CEO", "Hello"])
def test_neutral_messages_never_switch_language(lead: Callable[..., Lead], text: str) -> None:
    ana = lead()
    run_script(ana, PT_TO_NAME)
    result = ana.says(text)
    assert ana.state.language == "pt-BR"
    assert EventKind.LANGUAGE_CHANGED not in [event.kind for event in result.events]


def test_disqualified_events_carry_reason(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, CONVERSATIONS["disqualified by rule"][1])
    assert [dict(event.data) for event in ana.result.events if event.kind is EventKind.DISQUALIFIED] == [
        {"score": ana.state.score, "reason": "budget_too_low"}
    ]
    jane = lead("en")
    run_script(jane, CONVERSATIONS["disqualified by low score"][1])
    assert jane.state.score == 5
    assert [dict(event.data) for event in jane.result.events if event.kind is EventKind.DISQUALIFIED] == [
        {"score": 5, "reason": "low_score"}
    ]


def test_declined_event(lead: Callable[..., Lead]) -> None:
    ana = lead()
    ana.says("Oi")
    result = ana.says("Não, obrigada")
    assert [event.kind for event in result.events] == [EventKind.STAGE_CHANGED, EventKind.DECLINED]
    assert "consent" not in ana.state.slots


def test_media_only_asks_for_text_without_counting_a_retry(lead: Callable[..., Lead], flow: Flow) -> None:
    ana = lead()
    run_script(ana, PT_TO_NAME)
    result = ana.says("", has_media=True)
    assert result.replies == (flow.text("media_only", "pt-BR"), flow.question_stage("name").ask("pt-BR"))
    assert result.state.retries == 0 and result.events == ()


def test_media_only_first_message_gets_the_greeting(lead: Callable[..., Lead], flow: Flow) -> None:
    ana = lead()
    result = ana.says("", has_media=True)
    assert result.replies == (flow.question_stage("consent").ask("pt-BR"),)


def test_button_payload_counts_as_the_text(lead: Callable[..., Lead]) -> None:
    john = lead("en")
    john.says("Hello there")
    result = john.says("", button_payload="yes")
    assert result.state.stage == "name"


def test_resumed_thread_with_a_valid_answer_proceeds(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, PT_TO_NAME)
    result = ana.says("Ana", resumed=True, now=NOW + timedelta(days=2))
    assert result.state.stage == "company"
    assert "Que bom falar com você de novo" not in ana.reply()


def test_resumed_thread_with_small_talk_welcomes_back(lead: Callable[..., Lead], flow: Flow) -> None:
    ana = lead()
    run_script(ana, PT_TO_ROLE)
    result = ana.says("oi, tudo bem?", resumed=True, now=NOW + timedelta(days=2))
    assert result.state.stage == "role" and result.state.retries == 0
    assert result.replies[0] == "Que bom falar com você de novo, Ana Souza! Vamos continuar de onde paramos."
    assert result.replies[1] == flow.question_stage("role").ask("pt-BR")


def test_stage_entered_at_follows_stage_changes(lead: Callable[..., Lead]) -> None:
    ana = lead()
    ana.says("Oi", now=NOW)
    assert ana.state.stage_entered_at == "2026-03-02T13:00:00+00:00"
    ana.says("hmm?", now=NOW + timedelta(minutes=5))
    assert ana.state.stage_entered_at == "2026-03-02T13:00:00+00:00"
    ana.says("sim", now=NOW + timedelta(minutes=7))
    assert ana.state.stage_entered_at == "2026-03-02T13:07:00+00:00"


def test_control_characters_never_reach_the_state(lead: Callable[..., Lead]) -> None:
    ana = lead()
    run_script(ana, PT_TO_ROLE)
    ana.says("\x00CEO\x00")
    ana.says("Preciso\x00 de um\tCRM\x07")
    assert ana.state.slots["role"] == "founder"
    assert ana.state.slots["need"] == "Preciso de um CRM"


def test_events_never_contain_what_the_lead_wrote(lead: Callable[..., Lead]) -> None:
    ana = lead()
    secrets = ["Sou a Ana da Acme, meu e-mail é ana@acme.com", "CEO", "Precisamos de um CRM urgente", "R$ 30 mil", "mês que vem"]
    ana.says("Oi")
    for text in secrets:
        for event in ana.says(text).events:
            for value in event.data.values():
                assert not any(part in str(value) for part in ("Ana", "Acme", "acme.com", "CRM", "30"))


def test_voice_channel_uses_voice_texts(lead: Callable[..., Lead], flow: Flow) -> None:
    caller = lead()
    result = caller.says("alô", channel="voice")
    assert result.replies == ("Olá! Sou o assistente virtual do time comercial. Posso fazer algumas perguntas rápidas? Diga sim ou não.",)
    assert caller.says("sim", channel="voice").replies == (flow.question_stage("name").ask("pt-BR"),)
