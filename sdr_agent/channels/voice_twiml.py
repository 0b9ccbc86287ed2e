"""Pure TwiML builders for calls, tested as exact strings."""
from __future__ import annotations

from typing import Iterable, Sequence

from twilio.twiml.voice_response import VoiceResponse

GATHER_PATH = "/twilio/voice/gather"
# Flow languages -> the language codes Twilio's speech recognition and <Say> take.
SPEECH_LANGUAGES = {"pt-BR": "pt-BR", "en": "en-US"}
HINTS_SEPARATOR = ", "


def speech_language(language: str) -> str:
    """Twilio's code for a flow language (unknown languages are passed through)."""
    return SPEECH_LANGUAGES.get(language, language)


def gather_action(turn: int) -> str:
    """Where Twilio posts the caller's answer to turn `turn` (relative: Twilio resolves it)."""
    return f"{GATHER_PATH}?turn={turn}"


def ask_and_listen(texts: Iterable[str], language: str, voice: str, hints: Sequence[str], turn: int) -> str:
    """Say the texts inside a speech <Gather> whose result Twilio posts to turn `turn`."""
    code = speech_language(language)
    response = VoiceResponse()
    gather = response.gather(
        input="speech",
        action=gather_action(turn),
        method="POST",
        language=code,
        speech_timeout="auto",
        action_on_empty_result=True,  # silence comes back to us too, so it can be counted
        hints=HINTS_SEPARATOR.join(_hint_phrase(hint) for hint in hints) or None,
    )
    for text in texts:
        gather.say(text, voice=voice, language=code)
    return str(response)


def _hint_phrase(hint: str) -> str:
    """A hint without commas: Twilio splits the hints attribute on them, which would break one phrase in two."""
    return " ".join(hint.replace(",", " ").split())


def say_and_hang_up(texts: Iterable[str], language: str, voice: str) -> str:
    """Say the texts, then end the call."""
    code = speech_language(language)
    response = VoiceResponse()
    for text in texts:
        response.say(text, voice=voice, language=code)
    response.hangup()
    return str(response)
