"""What channels hand to the conversation service and what they get back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .qualification import Event


@dataclass(frozen=True)
class InboundMessage:
    """One message from a lead, channel-neutral."""

    sid: str  # provider idempotency key: MessageSid, or CallSid + turn for voice
    phone: str  # E.164
    channel: str  # whatsapp | voice
    text: str
    profile_name: str | None = None
    button_payload: str | None = None
    media: tuple[dict[str, str], ...] = ()
    location: dict[str, Any] | None = None


@dataclass(frozen=True)
class Reply:
    """The answer to one inbound message, already rendered by the channel."""

    body: str
    texts: tuple[str, ...] = ()
    duplicate: bool = False
    events: tuple[Event, ...] = field(default_factory=tuple)
    stage_before: str | None = None
    stage_after: str | None = None
    language: str | None = None
