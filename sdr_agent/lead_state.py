"""Writing the engine's state onto a lead row: the JSON state and its searchable columns."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from .models import Lead
from .qualification import LeadState
from .slots import project_slots


def state_columns(state: LeadState) -> dict[str, Any]:
    """The lead's column values for `state`: the JSON state and its projection for the dashboard and exports."""
    return {
        "state": state.to_dict(),
        "stage": state.stage,
        "language": state.language,
        "score": state.score,
        "opted_out": state.opted_out,
        "handed_off": state.handed_off,
        **project_slots(state.slots),
    }


def write_state(lead: Lead, state: LeadState) -> None:
    """Store `state` on the lead and project it onto the columns the dashboard and exports read."""
    for column, value in state_columns(state).items():
        setattr(lead, column, value)


def seconds_in_stage(state: LeadState, now: datetime) -> float | None:
    """How long the lead has been at its current stage; None when the state does not say."""
    if not state.stage_entered_at:
        return None
    try:
        entered = datetime.fromisoformat(state.stage_entered_at)
    except ValueError:
        return None
    if entered.tzinfo is None:
        return None
    return max((now - entered).total_seconds(), 0.0)
