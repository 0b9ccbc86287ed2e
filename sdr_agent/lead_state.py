"""Writing the engine's state onto a lead row: the JSON state and its searchable columns."""
from __future__ import annotations

from .models import Lead
from .qualification import LeadState
from .slots import project_slots


def write_state(lead: Lead, state: LeadState) -> None:
    """Store `state` on the lead and project it onto the columns the dashboard and exports read."""
    lead.state = state.to_dict()
    lead.stage = state.stage
    lead.language = state.language
    lead.score = state.score
    lead.opted_out = state.opted_out
    lead.handed_off = state.handed_off
    for column, value in project_slots(state.slots).items():
        setattr(lead, column, value)
