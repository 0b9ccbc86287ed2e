"""The voice TwiML builders, checked as exact strings."""
from sdr_agent.channels.voice_twiml import ask_and_listen, gather_action, say_and_hang_up, speech_language

XML = '<?xml version="1.0" encoding="UTF-8"?>'


def test_ask_and_listen_says_inside_a_speech_gather() -> None:
    assert ask_and_listen(["Olá!", "Qual é o seu nome?"], "pt-BR", "Polly.Camila", ["sim", "não"], 3) == (
        f'{XML}<Response><Gather action="/twilio/voice/gather?turn=3" actionOnEmptyResult="true" hints="sim, não" '
        'input="speech" language="pt-BR" method="POST" speechTimeout="auto">'
        '<Say language="pt-BR" voice="Polly.Camila">Olá!</Say>'
        '<Say language="pt-BR" voice="Polly.Camila">Qual é o seu nome?</Say>'
        "</Gather></Response>"
    )


def test_english_is_recognised_as_us_english() -> None:
    assert ask_and_listen(["Hi!"], "en", "Polly.Joanna", ["yes"], 1) == (
        f'{XML}<Response><Gather action="/twilio/voice/gather?turn=1" actionOnEmptyResult="true" hints="yes" '
        'input="speech" language="en-US" method="POST" speechTimeout="auto">'
        '<Say language="en-US" voice="Polly.Joanna">Hi!</Say></Gather></Response>'
    )


def test_hint_phrases_keep_their_commas_out_and_empty_hints_are_left_out() -> None:
    with_commas = ask_and_listen(["?"], "pt-BR", "Polly.Camila", ["Diretor, VP ou Head", "  Outro  "], 2)
    assert 'hints="Diretor VP ou Head, Outro"' in with_commas
    assert "hints=" not in ask_and_listen(["?"], "pt-BR", "Polly.Camila", [], 2)


def test_texts_are_escaped() -> None:
    assert "<Say language=\"en-US\" voice=\"v\">A &amp; B &lt;b&gt;</Say>" in ask_and_listen(["A & B <b>"], "en", "v", [], 1)


def test_say_and_hang_up() -> None:
    assert say_and_hang_up(["Até logo!"], "pt-BR", "Polly.Camila") == (
        f'{XML}<Response><Say language="pt-BR" voice="Polly.Camila">Até logo!</Say><Hangup /></Response>'
    )


def test_gather_action_and_language_codes() -> None:
    assert gather_action(7) == "/twilio/voice/gather?turn=7"
    assert (speech_language("pt-BR"), speech_language("en"), speech_language("es-MX")) == ("pt-BR", "en-US", "es-MX")
