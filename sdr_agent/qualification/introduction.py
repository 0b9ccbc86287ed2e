"""A first message full of facts ("Sou a Ana, diretora de marketing da Acme, queremos …"): its role and need."""
from __future__ import annotations

import re
from typing import Any, Mapping

from .display import display_value
from .flow_model import Flow
from .textnorm import fold, simplify
from .validators import choice

# The lead presents themselves: only then is a role word ("diretora") taken as their role.
_SELF = re.compile(r"\b(?:sou|eu sou|i am|i m|im|trabalho como|atuo como|work as|as (?:a|an|the)|como|cargo|role)\b")
# Where the need starts, and the sentence it runs to. "Quero saber mais" is curiosity, not a need.
_NEED = re.compile(
    r"\b(?:queremos|quero|precisamos|preciso|estamos buscando|estamos procurando|buscamos|procuramos|gostariamos de"
    r"|we want to|we need|we re looking for|we are looking for|we d like to|we would like to|i need|i want to)\b"
    r"(?! (?:saber|conhecer|entender|know|learn|find out|hear|ask|see)\b)[^.!?\n]{3,}"
)
FACT_SEPARATOR = "; "


def role_and_need(flow: Flow, slots: Mapping[str, Any], text: str, language: str) -> dict[str, Any]:
    """Empty role (choice) and need (free text) slots that a self-introduction clearly fills."""
    found: dict[str, Any] = {}
    folded = fold(text)
    for stage in flow.stages:
        if stage.slot in slots:
            continue
        if stage.type == "choice" and _SELF.search(simplify(text)):
            # Keywords only ("diretora"): a bare number in an introduction is never an option.
            parsed = choice.parse(re.sub(r"\d+", " ", text), language, stage.options)
            if parsed.ok:
                found[stage.slot] = parsed.value
        elif stage.type == "free_text" and (need := _NEED.search(folded)):
            found[stage.slot] = text[need.start():need.end()].strip(" ,;")
    return found


def understood(flow: Flow, before: Mapping[str, Any], after: Mapping[str, Any], language: str) -> str:
    """The facts a message added, said back in flow order ("Ana; Acme; Diretor(a), VP ou Head")."""
    return FACT_SEPARATOR.join(
        display_value(stage, after[stage.slot], language)
        for stage in flow.stages
        if stage.slot in after and stage.slot not in before and stage.type != "consent"
    )
