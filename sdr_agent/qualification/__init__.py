"""The pure qualification engine: flow files, answer parsers and the step function.

Imports only the standard library, PyYAML, phonenumbers, email-validator and rapidfuzz, so it can be used
and tested without the web app.
"""
from .asides import answerable_question
from .calls import call_opening
from .corrections import corrects_an_answer
from .engine import initial_state, step
from .flow import Flow, FlowError, Option, QuestionStage, default_flow_path, load_flow
from .hints import speech_hints
from .knowledge import Knowledge, KnowledgeError, default_knowledge_path, load_knowledge
from .speech import speakable
from .types import STAGE_NEW, TERMINAL_STAGES, AskedQuestion, Event, EventKind, LeadState, StepResult, Turn

__all__ = [
    "AskedQuestion",
    "Event",
    "EventKind",
    "Flow",
    "FlowError",
    "Knowledge",
    "KnowledgeError",
    "LeadState",
    "Option",
    "QuestionStage",
    "STAGE_NEW",
    "StepResult",
    "TERMINAL_STAGES",
    "Turn",
    "answerable_question",
    "call_opening",
    "corrects_an_answer",
    "default_flow_path",
    "default_knowledge_path",
    "initial_state",
    "load_flow",
    "load_knowledge",
    "speakable",
    "speech_hints",
    "step",
]
