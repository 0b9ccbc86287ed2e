"""The booking conversation: offer free slots, book the chosen one, confirm, reschedule and cancel.

Runs inside the conversation service's transaction for a qualified lead's message; the unique
index on active bookings' start time decides races between leads for the same slot.
"""
from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..config import Settings
from ..models import Booking, OutboxItem
from ..outbound.outbox import CALENDAR, PENDING, SKIPPED, WHATSAPP, add_outbox_item
from ..qualification import Event, EventKind, LeadState, StepResult
from ..scheduling import (BookingIntent, MatchKind, Slot, closest_free_slots, detect_booking_intent, free_slots,
                          match_choice, offer_text, reminder_at, slot_at)
from .texts import booking_text

QUALIFIED = "qualified"
BOOKED = "booked"


class BookingDesk:
    """Decides the replies of a qualified lead's messages, and stores bookings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.config = settings.scheduling

    def offer_after_qualifying(self, session: Session, result: StepResult, now: datetime) -> StepResult:
        """Add the slot offer to the turn that qualified the lead."""
        slots = free_slots(self.config, now, self._taken(session, now))
        # replace(), not a new result: the turn's other fields (the lead's questions) are kept.
        return replace(result, state=result.state.evolve(booking=_offered(slots)),
                       replies=(*result.replies, *self._offer(slots, result.state.language)))

    def offer_again(self, result: StepResult) -> StepResult:
        """After the engine answered a question of a lead choosing a slot, the open offer once more."""
        state = result.state
        offered = [slot_at(self.config, datetime.fromisoformat(start)) for start in (state.booking or {}).get("offered", [])]
        if state.stage != QUALIFIED or not offered:
            return result
        return replace(result, replies=(*result.replies, *self._offer(offered, state.language)))

    def reply(self, session: Session, lead_id: int, state: LeadState, text: str, now: datetime) -> tuple[StepResult, list[int]]:
        """The answer to a qualified or booked lead's message, and the outbox items it queued."""
        language = state.language
        booking = self._active(session, lead_id)
        intent = detect_booking_intent(text, booked=booking is not None)
        if booking is not None:
            if intent is None:
                when = self._when(booking, language)
                return _result(state, [booking_text("already_booked", language, when=when)]), []
            ids = self._cancel(session, booking, now)
            moved = state.evolve(stage=QUALIFIED, stage_entered_at=now.isoformat())
            events = [_stage(BOOKED, QUALIFIED)]
            if intent is BookingIntent.CANCEL:
                return _result(moved, [booking_text("cancelled", language)], events, booking={}), ids
            slots = free_slots(self.config, now, self._taken(session, now))
            return _result(moved, [booking_text("reschedule", language), *self._offer(slots, language)], events,
                           booking=_offered(slots)), ids
        offered = [slot_at(self.config, datetime.fromisoformat(start)) for start in (state.booking or {}).get("offered", [])]
        taken = self._taken(session, now)
        if not offered or intent is not None:
            slots = free_slots(self.config, now, taken)
            return _result(state, self._offer(slots, language), booking=_offered(slots)), []
        match = match_choice(text, offered, self.config, now, language, taken)
        if match.kind is MatchKind.CHOSEN and match.slot is not None:
            booked = self._book(session, lead_id, match.slot, state, now)
            if booked is not None:
                return booked
            lead_in = booking_text("taken", language)
            alternatives = closest_free_slots(self.config, now, self._taken(session, now), match.slot.start)
        elif match.kind is MatchKind.CLOSEST:
            # A slot we offered that is no longer free was booked by someone else since the offer.
            was_offered = match.requested in {slot.start for slot in offered}
            lead_in = "" if match.requested is None else booking_text("taken" if was_offered else "not_free", language)
            alternatives = list(match.alternatives)
        else:
            return _result(state, [booking_text("not_understood", language), *self._offer(offered, language)]), []
        return _result(state, [text for text in (lead_in, *self._offer(alternatives, language)) if text],
                       booking=_offered(alternatives)), []

    def cancel_active(self, session: Session, lead_id: int, now: datetime) -> list[int]:
        """Cancel the lead's booking, if any (the lead opted out or restarted)."""
        booking = self._active(session, lead_id)
        return self._cancel(session, booking, now) if booking is not None else []

    def release(self, session: Session, lead_id: int, result: StepResult, now: datetime) -> tuple[StepResult, list[int]]:
        """Cancel the booking of a lead who stopped, restarted or asked for a person; `booked` becomes `qualified`."""
        ids = self.cancel_active(session, lead_id, now)
        if result.state.stage != BOOKED:
            return result, ids
        # An opt-out keeps the stage: without this the lead would stay `booked` for a meeting that is gone.
        state = result.state.evolve(stage=QUALIFIED, stage_entered_at=now.isoformat(), booking={})
        return replace(result, state=state, events=(*result.events, _stage(BOOKED, QUALIFIED))), ids

    def _book(self, session: Session, lead_id: int, slot: Slot, state: LeadState,
              now: datetime) -> tuple[StepResult, list[int]] | None:
        """Store the booking, or None when another lead took the slot first."""
        booking = Booking(lead_id=lead_id, start_at=slot.start, end_at=slot.end, status=BOOKED,
                          token=secrets.token_urlsafe(32), created_at=now)
        try:
            with session.begin_nested():
                session.add(booking)
        except IntegrityError:
            return None
        language = state.language
        when = slot.label(language, with_zone=True)
        replies = [booking_text("booked", language, when=when)]
        if self.settings.public_base_url:
            replies.append(booking_text("calendar", language, url=f"{self.settings.public_base_url}/bookings/{booking.token}.ics"))
        ids = [
            add_outbox_item(session, lead_id=lead_id, kind=WHATSAPP, purpose="reminder", key=f"reminder:{booking.id}",
                            due_at=reminder_at(slot, self.config), now=now,
                            payload={"text": booking_text("reminder", language, when=when), "template_values": [when]}),
            add_outbox_item(session, lead_id=lead_id, kind=CALENDAR, purpose="booking.created",
                            key=f"calendar:created:{booking.id}", payload={"booking_id": booking.id}, now=now),
        ]
        result = _result(state.evolve(stage=BOOKED, stage_entered_at=now.isoformat()), replies, [_stage(QUALIFIED, BOOKED)], booking={"booking_id": booking.id})
        return result, [item_id for item_id in ids if item_id is not None]

    def _cancel(self, session: Session, booking: Booking, now: datetime) -> list[int]:
        booking.status = "cancelled"
        booking.cancelled_at = now
        # The reminder of a cancelled meeting must never go out.
        session.execute(
            update(OutboxItem)
            .where(OutboxItem.idempotency_key == f"reminder:{booking.id}", OutboxItem.status == PENDING)
            .values(status=SKIPPED, last_error="the booking was cancelled", updated_at=now)
        )
        session.flush()
        item_id = add_outbox_item(session, lead_id=booking.lead_id, kind=CALENDAR, purpose="booking.cancelled",
                                  key=f"calendar:cancelled:{booking.id}", payload={"booking_id": booking.id}, now=now)
        return [item_id] if item_id is not None else []

    def _offer(self, slots: Sequence[Slot], language: str) -> list[str]:
        return [offer_text(slots, language)] if slots else [booking_text("no_slots", language)]

    def _when(self, booking: Booking, language: str) -> str:
        return slot_at(self.config, booking.start_at).label(language, with_zone=True)

    @staticmethod
    def _active(session: Session, lead_id: int) -> Booking | None:
        return session.scalars(select(Booking).where(Booking.lead_id == lead_id, Booking.status == BOOKED)).first()

    @staticmethod
    def _taken(session: Session, now: datetime) -> list[datetime]:
        return list(session.scalars(select(Booking.start_at).where(Booking.status == BOOKED, Booking.end_at > now)))


def _offered(slots: Sequence[Slot]) -> dict[str, Any]:
    return {"offered": [slot.start.isoformat() for slot in slots]}


def _stage(from_stage: str, to_stage: str) -> Event:
    return Event(EventKind.STAGE_CHANGED, {"from": from_stage, "to": to_stage})


def _result(state: LeadState, replies: Sequence[str], events: Sequence[Event] = (), *,
            booking: dict[str, Any] | None = None) -> StepResult:
    if booking is not None:
        state = state.evolve(booking=booking)
    return StepResult(state=state, replies=tuple(replies), events=tuple(events))

