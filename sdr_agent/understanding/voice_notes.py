"""WhatsApp voice notes to text: downloaded from Twilio with the account's credentials, capped, transcribed."""
from __future__ import annotations

import logging
from dataclasses import replace

import openai
import requests

from .. import telemetry
from ..llm_settings import LlmSettings
from ..messages import InboundMessage

log = logging.getLogger(__name__)

# About four minutes of a WhatsApp voice note (Opus at ~16 kbit/s): longer ones are not transcribed,
# which caps the wait and the cost; the lead is asked to type instead, as without transcription.
MAX_AUDIO_BYTES = 512 * 1024
DOWNLOAD_TIMEOUT_S = 3.0
TRANSCRIBED = "transcribed"  # set on the stored media item, so the dashboard can mark the text as heard
_LANGUAGES = {"pt-BR": "pt", "en": "en"}  # ISO-639-1, as the transcription API wants it


class VoiceNotes:
    """Turns a message carrying a voice note into the same message carrying its transcript."""

    def __init__(self, settings: LlmSettings, account_sid: str, auth_token: str) -> None:
        self.settings = settings
        self._auth = (account_sid, auth_token)
        self._client = openai.OpenAI(api_key=settings.api_key, base_url=settings.base_url, max_retries=0)

    @classmethod
    def from_settings(cls, settings: LlmSettings, account_sid: str, auth_token: str) -> "VoiceNotes | None":
        """Voice notes are transcribed only with the `transcribe` feature on."""
        return cls(settings, account_sid, auth_token) if settings.uses("transcribe") else None

    @staticmethod
    def carries_voice_note(message: InboundMessage) -> bool:
        """Whether the message is a voice note alone (no text of its own), the kind that is transcribed."""
        return not message.text and _audio_index(message) is not None

    def transcribed(self, message: InboundMessage, language: str, stage: str | None) -> InboundMessage | None:
        """The message with the voice note's transcript as its text; None when there is none to use."""
        index = _audio_index(message)
        if index is None or message.text:
            return None
        item = message.media[index]
        try:
            audio = self._download(item["url"])
            text = self._transcribe(audio, item.get("content_type") or "audio/ogg", language)
        except _Unusable as failure:
            telemetry.ai_fallback(f"transcribe_{failure.reason}", stage, message.channel)
            log.info("voice note not transcribed", extra={"reason": failure.reason})
            return None
        media = tuple({**entry, TRANSCRIBED: "true"} if i == index else entry for i, entry in enumerate(message.media))
        return replace(message, text=text, media=media)

    def _download(self, url: str) -> bytes:
        if not url.startswith(("https://", "http://")):
            raise _Unusable("bad_url")
        try:
            # Twilio redirects media to its storage; requests drops the credentials on the other host.
            with requests.get(url, auth=self._auth, timeout=DOWNLOAD_TIMEOUT_S, stream=True) as response:
                if response.status_code != 200:
                    raise _Unusable("download_failed")
                declared = int(response.headers.get("Content-Length") or 0)
                if declared > MAX_AUDIO_BYTES:
                    raise _Unusable("too_long")
                audio = b""
                for chunk in response.iter_content(64 * 1024):
                    audio += chunk
                    if len(audio) > MAX_AUDIO_BYTES:
                        raise _Unusable("too_long")
                return audio
        except requests.RequestException:
            raise _Unusable("download_failed") from None

    def _transcribe(self, audio: bytes, content_type: str, language: str) -> str:
        timeout_s = self.settings.timeout_ms / 1000
        try:
            result = self._client.with_options(timeout=timeout_s).audio.transcriptions.create(
                model=self.settings.transcribe_model, file=("voice-note.ogg", audio, content_type),
                language=_LANGUAGES.get(language, "pt"))
        except openai.APITimeoutError:
            raise _Unusable("timeout") from None
        except (openai.OpenAIError, ValueError):
            raise _Unusable("failed") from None
        text = (getattr(result, "text", None) or "").strip()
        if not text:
            raise _Unusable("empty")
        return text[:1600]


class _Unusable(Exception):
    """The voice note could not be turned into text; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _audio_index(message: InboundMessage) -> int | None:
    """Where the first audio item is among the message's media."""
    return next((i for i, item in enumerate(message.media) if (item.get("content_type") or "").startswith("audio/")),
                None)
