"""Plain data the engine takes and returns; no I/O, no framework types."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any, Mapping

# Stages every flow has besides its question stages.
STAGE_NEW = "new"  # a lead we have never answered
TERMINAL_STAGES = ("qualified", "disqualified", "handoff", "declined", "booked")  # booked: a qualified lead's meeting


class EventKind(str, Enum):
    """What happened during one engine step."""

    STAGE_CHANGED = "stage_changed"  # data: {"from": str, "to": str}
    SLOT_FILLED = "slot_filled"  # data: {"slot": str, "stage": str}
    SLOT_REJECTED = "slot_rejected"  # data: {"slot": str, "retries": int}
    QUALIFIED = "qualified"  # data: {"score": int}
    DISQUALIFIED = "disqualified"  # data: {"score": int, "reason": str}
    DECLINED = "declined"  # data: {} (no consent)
    HANDOFF_REQUESTED = "handoff_requested"  # data: {"reason": "user_requested" | "retry_limit" | "hot_lead"}
    RESET_REQUESTED = "reset_requested"  # data: {"reason": "user_requested"}
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    LANGUAGE_CHANGED = "language_changed"  # data: {"from": str, "to": str}
    HELP_SHOWN = "help_shown"
    CONFIRMATION_REQUESTED = "confirmation_requested"  # data: {"stage": str}; the answer waits for a yes
    DEFERRED_TO_WHATSAPP = "deferred_to_whatsapp"  # data: {"slot": str}; a call leaves it to be written
    QUESTION_ASKED = "question_asked"  # data: {"stage", "answered": bool[, "topic": entry id]}; never the text
    CALLBACK_REQUESTED = "callback_requested"  # data: {"stage": str, "has_time": bool}
    SLOT_CORRECTED = "slot_corrected"  # data: {"slot": str, "stage": str}; an earlier answer replaced
    SLOT_DECLINED = "slot_declined"  # data: {"slot": str, "reason": "declined" | "unparsed"}; stored as not given
    SILENCE_LIMIT = "silence_limit"  # data: {"silent_turns": int}; reported by the service when a call gives up


@dataclass(frozen=True)
class Event:
    """One fact the engine reports; data never holds the lead's own words."""

    kind: EventKind
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One message from the lead, already parsed by a channel."""

    text: str
    now: datetime
    channel: str = "whatsapp"
    has_media: bool = False
    profile_name: str | None = None
    button_payload: str | None = None
    resumed: bool = False  # first message of a new thread after an idle gap
    confirm: bool = False  # heard with low confidence: confirm the answer before storing it
    whatsapp_reachable: bool = True  # a WhatsApp message can reach the lead now (window open, or a template)


@dataclass(frozen=True)
class LeadState:
    """Everything the engine needs to remember about one lead between turns."""

    stage: str = STAGE_NEW
    language: str = "pt-BR"
    slots: Mapping[str, Any] = field(default_factory=dict)
    retries: int = 0
    score: int = 0
    score_reasons: tuple[str, ...] = ()
    opted_out: bool = False
    handed_off: bool = False
    stage_entered_at: str | None = None  # ISO-8601 UTC of the current stage's start
    pending: Mapping[str, Any] | None = None  # {"stage", "value", "heard"[, "literal"]}: awaiting a yes
    deferred: tuple[str, ...] = ()  # slots a call left to be collected in writing
    booking: Mapping[str, Any] | None = None  # kept for the booking conversation after "qualified"; never read here
    open_questions: tuple[str, ...] = ()  # questions the knowledge could not answer, for the specialist
    callback: Mapping[str, Any] | None = None  # {"when": str | None, "at": ISO-8601}: the lead asked to be called
    waiting_ack_at: str | None = None  # ISO-8601 UTC of the last "a person will reply" sent while handed off
    held: Mapping[str, str] | None = None  # {"text", "at"}: the first half of an answer cut in two

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for storage."""
        return {
            "stage": self.stage,
            "language": self.language,
            "slots": dict(self.slots),
            "retries": self.retries,
            "score": self.score,
            "score_reasons": list(self.score_reasons),
            "opted_out": self.opted_out,
            "handed_off": self.handed_off,
            "stage_entered_at": self.stage_entered_at,
            "pending": None if self.pending is None else dict(self.pending),
            "deferred": list(self.deferred),
            "booking": None if self.booking is None else dict(self.booking),
            "open_questions": list(self.open_questions),
            "callback": None if self.callback is None else dict(self.callback),
            "waiting_ack_at": self.waiting_ack_at,
            "held": None if self.held is None else dict(self.held),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, default_language: str = "pt-BR") -> "LeadState":
        """Rebuild from `to_dict` output; missing keys take defaults."""
        data = data or {}
        pending = data.get("pending")
        return cls(
            stage=data.get("stage", STAGE_NEW),
            language=data.get("language", default_language),
            slots=dict(data.get("slots") or {}),
            retries=int(data.get("retries", 0)),
            score=int(data.get("score", 0)),
            score_reasons=tuple(data.get("score_reasons") or ()),
            opted_out=bool(data.get("opted_out", False)),
            handed_off=bool(data.get("handed_off", False)),
            stage_entered_at=data.get("stage_entered_at"),
            pending=dict(pending) if isinstance(pending, Mapping) else None,
            deferred=tuple(data.get("deferred") or ()),
            booking=dict(booking) if isinstance(booking := data.get("booking"), Mapping) else None,
            open_questions=tuple(data.get("open_questions") or ()),
            callback=dict(callback) if isinstance(callback := data.get("callback"), Mapping) else None,
            waiting_ack_at=data.get("waiting_ack_at"),
            held=dict(held) if isinstance(held := data.get("held"), Mapping) else None,
        )

    def evolve(self, **changes: Any) -> "LeadState":
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True)
class AskedQuestion:
    """A question the lead asked this turn, for the team's records; never part of an event."""

    text: str
    stage: str
    topic: str | None  # the knowledge entry that answered it; None when it was noted for the specialist


@dataclass(frozen=True)
class StepResult:
    """The engine's answer to one turn."""

    state: LeadState
    replies: tuple[str, ...]
    events: tuple[Event, ...]
    questions: tuple[AskedQuestion, ...] = ()
