"""TwiML builders as exact strings, and long replies split at Twilio's 1600-character limit."""
from sdr_agent.channels.twiml import MAX_MESSAGE_CHARS, messaging_reply, split_text

XML = '<?xml version="1.0" encoding="UTF-8"?>'


def test_one_reply_is_one_message() -> None:
    assert messaging_reply(["Olá! Qual é o seu nome?"]) == f"{XML}<Response><Message>Olá! Qual é o seu nome?</Message></Response>"


def test_two_replies_are_two_messages_and_text_is_escaped() -> None:
    assert messaging_reply(["A & B", "<b>x</b>"]) == (
        f"{XML}<Response><Message>A &amp; B</Message><Message>&lt;b&gt;x&lt;/b&gt;</Message></Response>"
    )


def test_nothing_to_say_is_an_empty_response() -> None:
    assert messaging_reply([]) == f"{XML}<Response />"


def test_long_text_is_split_at_sentence_breaks_within_the_limit() -> None:
    sentence = "Esta é uma frase de teste com algumas palavras. "
    text = sentence * 80  # ~3900 characters
    pieces = split_text(text)
    assert len(pieces) == 3
    assert all(len(piece) <= MAX_MESSAGE_CHARS for piece in pieces)
    assert all(piece.endswith(".") for piece in pieces)
    assert " ".join(pieces) == text.strip()


def test_unbroken_text_is_cut_hard() -> None:
    pieces = split_text("x" * 4000)
    assert [len(piece) for piece in pieces] == [1600, 1600, 800]


def test_long_reply_becomes_several_message_elements() -> None:
    body = messaging_reply(["palavra " * 500])
    assert body.count("<Message>") == 3
