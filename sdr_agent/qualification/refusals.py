"""A lead declining to answer the open question ("prefiro não dizer", "skip", "I'd rather you didn't email me")."""
from __future__ import annotations

import re

from .textnorm import simplify

NOT_GIVEN = "not_given"  # key of a slot value stored instead of an answer: {"not_given": reason}
DECLINED = "declined"  # the lead chose not to answer
UNPARSED = "unparsed"  # the answer could not be read within the retry limit

# Phrases that decline wherever they appear in the message.
_REFUSAL = re.compile(
    r"\b(?:prefiro nao (?:dizer|informar|responder|falar|passar|compartilhar|dar)"
    r"|nao (?:quero|vou|posso|gostaria de) (?:dizer|informar|responder|falar|passar|compartilhar|dar)"
    r"|(?:e )?confidencial|sigiloso|pode pular|proxima pergunta"
    r"|(?:i d|id|i would) rather (?:not|you didn t|you did not)|rather not (?:say|share|tell)|prefer not to"
    r"|(?:don t|do not|dont) want to (?:say|share|tell|give)|not (?:telling|sharing)|no comment|confidential"
    r"|next question|none of (?:your|ur) business|not (?:your|ur) business|mind your own business"
    r"|nao (?:e|eh) da (?:sua|tua) conta|nao te interessa|nao interessa a voces?)\b"
)
# Short words that decline only as a whole short message: "pula", "skip" - never inside a real answer.
_SHORT_REFUSAL = re.compile(
    r"^(?:(?:pode|prefiro|melhor|please|pls|i ll|ill|let s|lets)\s+)?(?:pular|pula|passo|nao|skip|pass|prefiro nao"
    r"|rather not|prefer not|nao quero|no thanks|nope)(?:\s+(?:essa|esta|this|that|it|one|pergunta|question|por favor"
    r"|please|obrigado|obrigada|thanks))*$"
)


def is_refusal(text: str) -> bool:
    """Whether the message declines to answer rather than answering."""
    simple = simplify(text)
    return bool(_REFUSAL.search(simple) or (simple != "nao" and _SHORT_REFUSAL.match(simple)))


def not_given(reason: str) -> dict[str, str]:
    """The slot value of a question left without an answer, with why."""
    return {NOT_GIVEN: reason}


def is_not_given(value: object) -> bool:
    """Whether a slot value is a recorded non-answer."""
    return isinstance(value, dict) and NOT_GIVEN in value
