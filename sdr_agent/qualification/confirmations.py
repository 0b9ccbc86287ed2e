"""A "no" to "Entendi Rápido, está certo?" that carries the right answer ("não, é Rápido Sul")."""
from __future__ import annotations

import re

from .textnorm import fold

_NO_THEN_ANSWER = re.compile(
    r"^\s*(?:nao|no|nope|errado|wrong|negativo)\b[\s,.;:!-]*"
    r"(?:(?:na verdade|actually|it'?s|it is|e|eh|o certo e|o nome e|the name is|i said|eu disse)\b[\s,:]*)?"
    r"(?=\S)"
)


def answer_after_no(text: str) -> str | None:
    """What follows the "no" of a rejected confirmation, when there is more than the "no"."""
    # fold keeps one character per character, so the match ends where the answer starts in `text`.
    match = _NO_THEN_ANSWER.match(fold(text))
    rest = text[match.end():].strip(" .,!") if match else ""
    return rest or None
