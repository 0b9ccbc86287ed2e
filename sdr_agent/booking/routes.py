"""GET /bookings/<token>.ics: the lead's calendar file for a booked meeting (unguessable link)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app
from sqlalchemy import select

from ..models import Booking
from ..scheduling import ics_event, slot_at

bp = Blueprint("bookings", __name__)


@bp.get("/bookings/<token>.ics")
def calendar_file(token: str) -> Response:
    """The meeting as an iCalendar event; 404 for unknown or cancelled bookings."""
    settings = current_app.extensions["sdr_settings"]
    with current_app.extensions["sdr_session_factory"]() as session:
        booking = session.scalars(select(Booking).where(Booking.token == token, Booking.status == "booked")).first()
    if booking is None:
        abort(404, description="no such booking")
    host = (settings.public_base_url or "sdr-agent").split("//")[-1]
    body = ics_event(slot_at(settings.scheduling, booking.start_at), summary="Meeting", description="",
                     uid=f"booking-{booking.id}@{host}")
    return Response(body, mimetype="text/calendar", headers={"Content-Disposition": "attachment; filename=meeting.ics"})
