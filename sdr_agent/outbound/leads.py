"""The lead summary sent to the team's handoff and CRM webhooks (a documented, stable payload)."""
from __future__ import annotations

from typing import Any, Mapping

from ..models import Booking, Lead

PAYLOAD_VERSION = 1


def lead_summary(lead: Lead, event: str, details: Mapping[str, Any], public_base_url: str | None) -> dict[str, Any]:
    """`{"version", "event", "reason", "lead": {...}, "transcript_url"}` for one lead."""
    state = lead.state or {}
    return {
        "version": PAYLOAD_VERSION,
        "event": event,
        "reason": details.get("reason"),
        "lead": {
            "id": lead.id,
            "phone": lead.phone,
            "name": lead.name,
            "company": lead.company,
            "role": lead.role,
            "need": lead.need,
            "budget": lead.budget,
            "budget_amount": lead.budget_amount,
            "timeline": lead.timeline,
            "timeline_months": lead.timeline_months,
            "email": lead.email,
            "language": lead.language,
            "stage": lead.stage,
            "score": lead.score,
            "score_reasons": list(state.get("score_reasons") or []),
            "opted_out": lead.opted_out,
            "handed_off": lead.handed_off,
            "created_at": lead.created_at.isoformat() if lead.created_at else None,
            "not_given": not_given_slots(state),
            "open_questions": list(state.get("open_questions") or []),
            "callback": dict(state["callback"]) if isinstance(state.get("callback"), Mapping) else None,
        },
        "transcript_url": f"{public_base_url}/admin/leads/{lead.id}" if public_base_url else None,
    }


def slack_escape(text: Any) -> str:
    """Lead-written text as Slack shows it literally: no <!channel>, no disguised <url|link>."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def not_given_slots(state: Mapping[str, Any]) -> dict[str, str]:
    """Questions left without an answer and why: {"email": "declined", "budget": "unparsed"}."""
    slots = state.get("slots") or {}
    return {slot: str(value["not_given"]) for slot, value in slots.items()
            if isinstance(value, Mapping) and "not_given" in value}


def slack_text(summary: Mapping[str, Any]) -> str:
    """A Slack incoming-webhook message for a handoff: who, why, and where to read the conversation."""
    lead = summary["lead"]
    who = " · ".join(slack_escape(value) for value in (lead["name"], lead["company"], lead["role"]) if value)
    who = who or "New lead"
    callback = lead.get("callback")
    if summary["event"] == "lead.callback" and callback is not None:
        when = f" ({slack_escape(callback['when'])})" if callback.get("when") else ""
        header = f":telephone_receiver: *Lead asks for a call*{when}: {who}"
    else:
        header = f":raising_hand: *Lead wants a person* ({slack_escape(summary.get('reason') or summary['event'])}): {who}"
    lines = [header, f"Phone: {slack_escape(lead['phone'])} · Score: {lead['score']} · Stage: {slack_escape(lead['stage'])}"]
    if lead["need"]:
        lines.append(f"Need: {slack_escape(lead['need'])}")
    if lead.get("open_questions"):
        lines.append("Questions for the specialist: " + " | ".join(slack_escape(question)
                                                                for question in lead["open_questions"]))
    if summary.get("transcript_url"):
        lines.append(f"Transcript: {summary['transcript_url']}")
    return "\n".join(lines)


def booking_summary(booking: Booking, public_base_url: str | None) -> dict[str, Any]:
    """The meeting in a calendar notification: times in UTC ISO-8601, status and the .ics link."""
    return {
        "id": booking.id,
        "start": booking.start_at.isoformat(),
        "end": booking.end_at.isoformat(),
        "status": booking.status,
        "ics_url": f"{public_base_url}/bookings/{booking.token}.ics" if public_base_url else None,
    }
