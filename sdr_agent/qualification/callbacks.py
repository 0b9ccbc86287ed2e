"""Requests to be called back ("pode me ligar amanhã?", "call me after 3pm"), with the time when one is given."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .textnorm import fold

_CALLBACK = re.compile(
    r"\b(?:(?:me|nos) (?:liga|ligue|ligar|ligam|telefona|telefone|retorna|retornem)"
    r"|(?:ligar|ligue|liga|retornar|telefonar) (?:pra|para) (?:mim|gente|nos)|prefiro (?:uma )?ligacao"
    r"|(?:pode|podem|poderia|podiam) (?:me )?ligar|quero (?:uma )?ligacao|me chama no telefone"
    r"|call me|give me a call|phone me|ring me|call me back|(?:can|could|would) (?:you|someone) call"
    r"|(?:prefer|rather have) a (?:phone )?call|call back)\b"
)
_DAY = (r"hoje|amanha|depois de amanha|segunda|terca|quarta|quinta|sexta|sabado|domingo|semana que vem|"
        r"today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday|next week")
_PART = r"(?:de |a |pela |na |in the |this )?(?:manha|tarde|noite|morning|afternoon|evening)"
_CLOCK = r"(?:as |a partir das |depois das |antes das |at |after |before |around )?\d{1,2}(?:[:h]\d{2}|h| ?(?:am|pm))\b"
_WHEN = re.compile(rf"\b(?:(?:{_DAY})(?:\s+(?:{_PART}|{_CLOCK}))*|{_PART}(?:\s+{_CLOCK})?|{_CLOCK})")


@dataclass(frozen=True)
class CallbackRequest:
    """The lead asked to be called; `when` is the time they gave, as they wrote it, or None."""

    when: str | None


def find_callback(text: str) -> CallbackRequest | None:
    """The callback request in a message, if it asks for one."""
    folded = fold(text)
    if not _CALLBACK.search(folded):
        return None
    found = _WHEN.search(folded)
    # fold keeps positions, so the time is cut from the original text with its accents.
    return CallbackRequest(text[found.start() : found.end()].strip() if found else None)
