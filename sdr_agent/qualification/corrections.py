"""Corrections of earlier answers ("na verdade meu orçamento é 20 mil", "actually I'm the CFO")."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Iterable, Mapping

from .flow_model import Flow, QuestionStage
from .textnorm import simplify
from .validators import SIDE_TYPES, find_answer
from .validators.choice import parse as parse_choice

_MARKER = re.compile(
    r"\b(?:na verdade|corrigindo|correcao|errei|me enganei|quis dizer|digo|ops|opa|retificando|o certo e"
    r"|actually|correction|i meant|sorry i meant|my bad|oops|wrong|to correct)\b"
)


def has_correction_marker(text: str) -> bool:
    """Whether the lead says they are correcting something."""
    return bool(_MARKER.search(simplify(text)))


def find_corrections(
    stages: Iterable[QuestionStage], slots: Mapping[str, Any], text: str, language: str, now: datetime
) -> list[tuple[QuestionStage, Any]]:
    """Values for other questions that a message saying it corrects something clearly gives, validated by
    their parsers: a new value for an answered one, or an answer given early ("actually I'm the CFO"
    while the company is asked), which must not be read as the open question's answer."""
    found = []
    for stage in stages:
        if stage.type in SIDE_TYPES:
            result = find_answer(stage, text, language, now)
        elif stage.type == "choice":
            result = parse_choice(text, language, stage.options)
        else:
            continue
        if result.ok and result.value != slots.get(stage.slot):
            found.append((stage, result.value))
    return found


# Answers no other message is mistaken for: after the outcome they update the lead without a marker.
UNMISTAKABLE_TYPES = frozenset({"email"})


def late_facts(flow: Flow, slots: Mapping[str, Any], text: str, language: str,
               now: datetime) -> list[tuple[QuestionStage, Any]]:
    """An e-mail sent after the close ("ah, o certo é ana@acme.com"), new to the lead."""
    found = []
    for stage in flow.stages:
        if stage.type not in UNMISTAKABLE_TYPES:
            continue
        result = find_answer(stage, text, language, now)
        if result.ok and result.value != slots.get(stage.slot):
            found.append((stage, result.value))
    return found


def corrects_an_answer(flow: Flow, slots: Mapping[str, Any], text: str, language: str, now: datetime) -> bool:
    """Whether `text` corrects an earlier answer or brings a late e-mail (the booking desk leaves both to the engine)."""
    if has_correction_marker(text) and find_corrections(flow.stages, slots, text, language, now):
        return True
    return bool(late_facts(flow, slots, text, language, now))
