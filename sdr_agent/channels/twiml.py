"""Pure TwiML builders for messaging replies, tested as exact strings."""
from __future__ import annotations

from typing import Iterable

from twilio.twiml.messaging_response import MessagingResponse

MAX_MESSAGE_CHARS = 1600  # Twilio's limit for one WhatsApp/SMS body


def split_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split a long text into pieces of at most `limit` characters at natural breaks."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = max(window.rfind(". "), window.rfind("! "), window.rfind("? "))
            cut = cut + 1 if cut >= limit // 2 else window.rfind(" ")
        if cut <= 0:
            cut = limit  # one unbroken word longer than half a message
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def messaging_reply(texts: Iterable[str]) -> str:
    """<Response> with one <Message> per text piece; an empty <Response/> for no texts."""
    response = MessagingResponse()
    for text in texts:
        for piece in split_text(text):
            response.message(piece)
    return str(response)
