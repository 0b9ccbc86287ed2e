"""Global commands, language switching and input clean-up, as tables."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdr_agent.qualification.intents import Intent, detect_intent
from sdr_agent.qualification.language import detected_switch, requested_language
from sdr_agent.qualification.textnorm import MAX_INPUT_CHARS, clean, fold

LANGUAGES = ("pt-BR", "en")

INTENTS = [
    ("STOP", Intent.OPT_OUT), ("parar", Intent.OPT_OUT), ("Sair.", Intent.OPT_OUT), ("CANCELAR!!", Intent.OPT_OUT),
    ("unsubscribe", Intent.OPT_OUT), (" stop ", Intent.OPT_OUT), ("pare de me ligar", Intent.OPT_OUT),
    ("please stop messaging me", Intent.OPT_OUT), ("não quero mais, para de me mandar mensagem", Intent.OPT_OUT),
    ("unsubscribe me", Intent.OPT_OUT), ("não quero mais receber mensagens", Intent.OPT_OUT),
    ("START", Intent.OPT_IN), ("Voltar", Intent.OPT_IN), ("unstop", Intent.OPT_IN),
    ("recomeçar", Intent.RESTART), ("Reiniciar", Intent.RESTART), ("quero começar de novo", Intent.RESTART),
    ("RESTART", Intent.RESTART), ("start over please", Intent.RESTART), ("reset", Intent.RESTART),
    ("pera, quero começar de novo", Intent.RESTART), ("wait, can we start over?", Intent.RESTART),
    ("quero falar com um humano", Intent.HUMAN), ("Falar com atendente", Intent.HUMAN), ("quero falar com alguém", Intent.HUMAN),
    ("posso falar com um vendedor?", Intent.HUMAN), ("humano", Intent.HUMAN), ("human please", Intent.HUMAN),
    ("I want to talk to a person", Intent.HUMAN), ("can I speak with someone?", Intent.HUMAN), ("representative", Intent.HUMAN),
    ("talk to an agent", Intent.HUMAN),
    ("ajuda", Intent.HELP), ("Help!", Intent.HELP), ("?", Intent.HELP), ("??", Intent.HELP), ("menu", Intent.HELP),
    ("preciso de ajuda", Intent.HELP),
]
NOT_INTENTS = [
    "stop it please, I am busy", "quero sair do Excel", "Human Resources", "recursos humanos",
    "queremos parar de enviar mensagens manualmente", "vou começar de novo o projeto amanhã", "we need to stop sending messages by hand",
    "ajuda com vendas no CRM", "sou atendente", "reset de senha não funciona", "o que é isso?", "", "oi",
]


@pytest.mark.parametrize(("text", "intent"), INTENTS)
def test_intent_detected(text: str, intent: Intent) -> None:
    assert detect_intent(text) is intent


@pytest.mark.parametrize("text", NOT_INTENTS)
def test_no_intent(text: str) -> None:
    assert detect_intent(text) is None


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("Hello, I would like to know more about your product", "pt-BR", "en"),
        ("Sorry, I don't speak Portuguese", "pt-BR", "en"),
        ("Oi, tudo bem? Quero saber mais sobre vocês", "en", "pt-BR"),
        ("Bom dia, gostaria de um orçamento", "en", "pt-BR"),
        ("ok", "pt-BR", None),
        ("Acme", "pt-BR", None),
        ("ana@acme.com", "pt-BR", None),
        ("John Smith", "pt-BR", None),
        ("yes", "pt-BR", None),
        ("The Home Depot", "pt-BR", None),
        ("I need o CRM para vendas", "pt-BR", None),
        ("Hello, I would like to know more", "en", None),
        ("12345 678", "en", None),
    ],
)
def test_detected_switch(text: str, current: str, expected: str | None) -> None:
    assert detected_switch(text, current, LANGUAGES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("English please", "en"), ("in english?", "en"), ("Can we speak English", "en"), ("em inglês", "en"),
     ("português, por favor", "pt-BR"), ("Em português", "pt-BR"), ("sou professor de inglês", None), ("English", "en")],
)
def test_requested_language(text: str, expected: str | None) -> None:
    assert requested_language(text, LANGUAGES) == expected


def test_requested_language_must_be_in_the_flow() -> None:
    assert requested_language("English please", ("pt-BR",)) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  oi  ", "oi"), ("a\x00b", "ab"), ("a\tb\r\nc", "a b \nc"), ("lone \udcff", "lone"), ("e\u0301", "é"), (None, ""), ("", "")],
)
def test_clean(raw: str | None, expected: str) -> None:
    assert clean(raw) == expected


def test_clean_caps_the_length() -> None:
    assert len(clean("x" * 10_000)) == MAX_INPUT_CHARS


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Ação ÇÃO", "acao cao"), ("straße", "straße"), ("İstanbul", "istanbul"), ("ﬁne", "ﬁne"), ("😀 Oi", "😀 oi")],
)
def test_fold_strips_accents_and_keeps_positions(text: str, expected: str) -> None:
    assert fold(text) == expected
    assert len(fold(text)) == len(text)


@given(st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60),
       st.text(alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x24F), min_size=1, max_size=3))
def test_fold_gives_ascii_text_the_same_letters_with_or_without_an_accent_beside_it(ascii_text: str, accented: str) -> None:
    # ASCII text takes a shorter path than text with accents: both must fold the ASCII part alike.
    assert fold(ascii_text) == ascii_text.lower()
    assert fold(ascii_text + accented)[:len(ascii_text)] == ascii_text.lower()
    assert len(fold(ascii_text + accented)) == len(ascii_text) + len(accented)
