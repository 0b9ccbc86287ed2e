"""What channels hand to the conversation service and what they get back."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .qualification import Event, LeadState


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
    call_sid: str | None = None  # voice turns: the call this turn belongs to
    confidence: float | None = None  # voice turns: the recogniser's confidence, 0..1
    retry_key: str | None = None  # Twilio's I-Twilio-Idempotency-Token, identical on its retries


@dataclass(frozen=True)
class CallStart:
    """An incoming call, before the caller has said anything."""

    call_sid: str
    phone: str  # E.164

    @property
    def sid(self) -> str:
        """The idempotency key of the call's opening turn (turn 0)."""
        return turn_sid(self.call_sid, 0)


def turn_sid(call_sid: str, turn: int) -> str:
    """The key a voice turn is stored under: one CallSid, one row per turn."""
    return f"{call_sid}:{turn}"


@dataclass(frozen=True)
class Outcome:
    """What the service decided for one turn, handed to the channel to render."""

    texts: tuple[str, ...]
    state: LeadState
    end_call: bool = False  # voice: say the texts and hang up


Render = Callable[[Outcome], str]


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
    end_call: bool = False
