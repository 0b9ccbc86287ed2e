"""A lead pushing back on how the conversation closed ("What do you mean, you can't help us?")."""
from __future__ import annotations

import re

from .textnorm import simplify

_OBJECTION = re.compile(
    r"\b(?:what do you mean|how come|why not|why can ?t you|why cant you|what s wrong"
    r"|(?:can ?t|cannot|can not|won ?t|unable to) help"
    r"|not (?:the best|a good|a) (?:fit|match|option)"
    r"|como assim|por que nao|porque nao|pq nao|qual o problema"
    r"|nao (?:podem|pode|conseguem|consegue|vao|vai) (?:nos |me )?ajudar"
    r"|nao (?:sao|seja|sejam|sejamos) (?:a )?(?:melhor|boa) opcao)\b"
)


def objects_to_close(text: str) -> bool:
    """Whether a message after the close questions it, so a person should answer rather than the bot."""
    return bool(_OBJECTION.search(simplify(text)))
