"""Texts for calls, as tables: speakable(), answers said back to the lead, and speech recognition hints."""
from __future__ import annotations

from typing import Any

import pytest

from sdr_agent.qualification import Flow, LeadState, speakable, speech_hints
from sdr_agent.qualification.display import display_value
from sdr_agent.qualification.hints import MAX_HINTS
from sdr_agent.qualification.intents import SPOKEN_COMMANDS, detect_intent
from sdr_agent.qualification.speech import without_pictographs

SPEAKABLE = [
    # Emoji and other pictographs, including skin tones, flags, keycaps and joiners
    ("pt-BR", "Olá! 👋 Tudo bem? 😊", "Olá! Tudo bem?"),
    ("en", "Great 👍🏽🇧🇷 ✅ done", "Great done"),
    ("en", "Family 👨‍👩‍👧 time", "Family time"),
    ("en", "Press 1️⃣ now", "Press 1 now"),
    ("en", "Acme™ ©2026", "Acme 2026"),
    # Links
    ("pt-BR", "Veja https://acme.com/precos?plano=1 ou www.acme.com.br agora.", "Veja ou agora."),
    ("en", "More at https://acme.com.", "More at"),
    # Markdown
    ("pt-BR", "Responda *sim* ou *não*.", "Responda sim ou não."),
    ("en", "Type _restart_ or ~stop~ or `help` or **agent**.", "Type restart or stop or help or agent."),
    ("en", "Keep snake_case and ana_souza@acme.com", "Keep snake_case and ana_souza@acme.com"),
    ("en", "A stray * star", "A stray star"),
    # Slash hints
    ("pt-BR", "Leva uns 2 minutos. (sim/não)", "Leva uns 2 minutos. Sim ou não"),
    ("en", "May I ask? (yes/no)", "May I ask? Yes or no"),
    ("en", "Reply now (yes / no)", "Reply now yes or no"),
    ("pt-BR", "Escolha (manhã/tarde/noite) por favor", "Escolha manhã, tarde ou noite por favor"),
    ("pt-BR", "R$ 5 mil/mês e 24/7", "R$ 5 mil/mês e 24/7"),
    # Numbered lists
    ("pt-BR", "Qual?\n1) Founder\n2. Director", "Qual? Opção 1, Founder; opção 2, Director."),
    ("en", "Which one?\n1) Founder\n2. Director", "Which one? Option 1, Founder; option 2, Director."),
    ("en", "Pick one of these:\n1) A.\n2) B;\nThen wait", "Pick one of these: option 1, A; option 2, B. Then wait"),
    ("en", "Pick one\n 1) A\n 2) B", "Pick one. Option 1, A; option 2, B."),
    ("es", "¿Cuál?\n1) A\n2) B", "¿Cuál? Option 1, A; option 2, B."),  # no words of its own: English
    ("en", "We have 2. Great", "We have 2. Great"),
    # Written word endings and whitespace
    ("pt-BR", "Sócio(a), fundador(a) ou CEO", "Sócio, fundador ou CEO"),
    ("en", "Your item(s)   are\tready", "Your items are ready"),
    ("pt-BR", "Diretor(es) e gerente(s)", "Diretores e gerentes"),
    ("en", "Hello\nworld\n\nbye!", "Hello. world. bye!"),
    ("en", "  \n ", ""),
    ("en", "👍", ""),
]


@pytest.mark.parametrize(("language", "text", "expected"), SPEAKABLE)
def test_speakable(language: str, text: str, expected: str) -> None:
    assert speakable(text, language) == expected


@pytest.mark.parametrize(("language", "text", "_expected"), SPEAKABLE)
def test_speakable_is_stable(language: str, text: str, _expected: str) -> None:
    once = speakable(text, language)
    assert speakable(once, language) == once


def test_without_pictographs_keeps_everything_else() -> None:
    assert without_pictographs("Diga *sim* 👍 (sim/não)\n1) A") == "Diga *sim* (sim/não) 1) A"


MONEY = {"min": 20000.0, "max": 20000.0, "currency": "BRL", "period": None}
DISPLAYED = [
    ("budget", MONEY, "pt-BR", "R$ 20.000"),
    ("budget", {**MONEY, "currency": "USD", "period": "month"}, "en", "$20,000 a month"),
    ("budget", {**MONEY, "currency": "USD"}, "pt-BR", "US$ 20.000"),
    ("budget", {"min": 10000.0, "max": 20000.0, "currency": "BRL", "period": "year"}, "pt-BR", "de R$ 10.000 a R$ 20.000 por ano"),
    ("budget", {"min": 10000.0, "max": 20000.0, "currency": "USD", "period": None}, "en", "$10,000 to $20,000"),
    ("budget", {"min": 0.0, "max": 1000.0, "currency": "BRL", "period": None}, "pt-BR", "até R$ 1.000"),
    ("budget", {"min": 5000.0, "max": None, "currency": "EUR", "period": None}, "en", "over €5,000"),
    ("budget", {"min": 1500.5, "max": 1500.5, "currency": "BRL", "period": None}, "pt-BR", "R$ 1.500,50"),
    ("budget", {"min": 0.0, "max": 0.0, "currency": "USD", "period": None}, "en", "$0"),
    ("budget", {"min": None, "max": None, "currency": None, "period": None, "unknown": True}, "pt-BR", "que ainda não sabe"),
    ("timeline", {"months": 1.0, "label": "next month"}, "pt-BR", "mês que vem"),
    ("timeline", {"months": 1.0, "label": "next month"}, "en", "next month"),
    ("timeline", {"months": 3.0, "label": "3 months"}, "pt-BR", "em 3 meses"),
    ("timeline", {"months": 0.2, "label": "1 week"}, "pt-BR", "em 1 semana"),
    ("timeline", {"months": 1.5, "label": "1.5 months"}, "pt-BR", "em 1,5 meses"),
    ("timeline", {"months": 3.0, "label": "3 months"}, "en", "in 3 months"),
    ("timeline", {"months": 4.0, "label": "march"}, "pt-BR", "em março"),
    ("timeline", {"months": 4.0, "label": "march"}, "en", "in March"),
    ("timeline", {"months": None, "label": "unknown"}, "en", "you're not sure yet"),
    ("timeline", {"months": 9.0, "label": "end of year"}, "en", "by the end of the year"),
    ("role", "founder", "pt-BR", "Sócio(a), fundador(a) ou CEO"),
    ("role", "other", "en", "Other"),
    ("company", "Acme Ltda", "pt-BR", "Acme Ltda"),
    ("need", "Precisamos de um CRM " + "muito " * 30 + "bom", "pt-BR", "Precisamos de um CRM " + "muito " * 9 + "muito..."),
]


@pytest.mark.parametrize(("stage_id", "value", "language", "expected"), DISPLAYED)
def test_display_value(flow: Flow, stage_id: str, value: Any, language: str, expected: str) -> None:
    assert display_value(flow.question_stage(stage_id), value, language) == expected


PT_COMMANDS = ["falar com atendente", "ajuda", "recomeçar", "parar"]
EN_COMMANDS = ["talk to a person", "help", "start over", "stop"]
HINTS = [
    ("new", "pt-BR", None, PT_COMMANDS),
    ("consent", "pt-BR", None, ["sim", "não", *PT_COMMANDS]),
    ("consent", "en", None, ["yes", "no", *EN_COMMANDS]),
    ("name", "en", None, EN_COMMANDS),
    ("company", "pt-BR", {"stage": "company", "value": "Acme", "heard": "Acme"}, ["sim", "não", *PT_COMMANDS]),
    ("qualified", "pt-BR", None, PT_COMMANDS),
    ("budget", "es", None, PT_COMMANDS),  # a language the flow lacks: the flow's first
]


@pytest.mark.parametrize(("stage", "language", "pending", "expected"), HINTS)
def test_speech_hints(flow: Flow, stage: str, language: str, pending: dict[str, Any] | None, expected: list[str]) -> None:
    assert speech_hints(flow, LeadState(stage=stage, language=language, pending=pending)) == expected


@pytest.mark.parametrize("language", ["pt-BR", "en"])
def test_speech_hints_for_a_choice_cover_every_option(flow: Flow, language: str) -> None:
    role = flow.question_stage("role")
    hints = speech_hints(flow, LeadState(stage="role", language=language))
    assert len(hints) == MAX_HINTS == len({hint.casefold() for hint in hints})
    assert all(0 < len(hint) < 100 for hint in hints)
    assert [speakable(option.labels[language], language) for option in role.options] == hints[:5]
    folded = {hint.casefold() for hint in hints}
    for option in role.options:
        assert option.keywords[language][0] in folded
    assert hints[-4:] == (PT_COMMANDS if language == "pt-BR" else EN_COMMANDS)


def test_speech_hints_while_confirming_a_choice_start_with_yes_and_no(flow: Flow) -> None:
    pending = {"stage": "role", "value": "founder", "heard": "Other"}
    hints = speech_hints(flow, LeadState(stage="role", language="en", pending=pending))
    assert hints[:3] == ["yes", "no", "Founder, owner or CEO"] and len(hints) == MAX_HINTS


def test_speech_hints_when_opted_out_are_the_way_back(flow: Flow) -> None:
    assert speech_hints(flow, LeadState(stage="budget", language="pt-BR", opted_out=True)) == ["voltar"]
    assert speech_hints(flow, LeadState(stage="budget", language="en", opted_out=True)) == ["start"]


@pytest.mark.parametrize("language", sorted(SPOKEN_COMMANDS))
def test_spoken_commands_are_understood_as_those_commands(language: str) -> None:
    for intent, phrase in SPOKEN_COMMANDS[language].items():
        assert detect_intent(phrase) is intent
