"""The pure qualification engine: flow files, answer parsers and the step function.

Imports only the standard library, PyYAML, phonenumbers and email-validator, so it can be used
and tested without the web app.
"""
from .engine import initial_state, step
from .flow import Flow, FlowError, Option, QuestionStage, default_flow_path, load_flow
from .types import STAGE_NEW, TERMINAL_STAGES, Event, EventKind, LeadState, StepResult, Turn

__all__ = [
    "Event",
    "EventKind",
    "Flow",
    "FlowError",
    "LeadState",
    "Option",
    "QuestionStage",
    "STAGE_NEW",
    "StepResult",
    "TERMINAL_STAGES",
    "Turn",
    "default_flow_path",
    "initial_state",
    "load_flow",
    "step",
]
