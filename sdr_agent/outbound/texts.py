"""What an outbound WhatsApp message says, by purpose: free text in the window, template variables outside."""
from __future__ import annotations

from typing import Any, Mapping

from ..models import Lead
from ..qualification import Flow

# Global flow texts that open each kind of outbound message, when the flow has them.
LEAD_INS = {"email_request": "deferred_lead_in", "follow_up": "follow_up"}


def outbound_text(flow: Flow, purpose: str, lead: Lead, payload: Mapping[str, Any]) -> str:
    """The message for `purpose`: a lead-in from the flow, then the question it is about, if any."""
    language = lead.language if lead.language in flow.languages else flow.languages[0]
    slots = (lead.state or {}).get("slots") or {}
    if payload.get("text"):
        return str(payload["text"])
    parts = []
    lead_in = LEAD_INS.get(purpose)
    if lead_in is not None and lead_in in flow.texts:
        parts.append(flow.text(lead_in, language, slots))
    stage_id = payload.get("stage") or lead.stage
    if stage_id in flow.stage_ids:
        parts.append(flow.question_stage(stage_id).ask(language, slots))
    return "\n\n".join(parts)


def template_variables(purpose: str, lead: Lead, payload: Mapping[str, Any]) -> dict[str, str]:
    """Content variables for a template: {{1}} is always the lead's first name (or empty)."""
    first_name = (lead.name or "").split(" ")[0]
    variables = {"1": first_name}
    for index, value in enumerate(payload.get("template_values") or (), start=2):
        variables[str(index)] = str(value)
    return variables
