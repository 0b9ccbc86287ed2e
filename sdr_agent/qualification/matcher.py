"""Finding the knowledge entry a lead's question asks about: fuzzy matching with rapidfuzz."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process

from .knowledge import Entry, Knowledge
from .textnorm import simplify

# Words that carry no topic; dropped so "qual é o preço" and "qual o preço" read alike.
_FILLER = frozenset(
    "o a os as um uma uns umas de do da dos das e em no na nos nas ai entao ola oi the an of to for and hi so ok".split()
)
# Chat spellings of the same word, so "vcs" matches a variant written "vocês".
_SPELLINGS = {"vcs": "voces", "vc": "voce", "tb": "tambem", "tbm": "tambem", "pq": "por que", "q": "que", "u": "you",
              "r": "are", "ur": "your", "eh": "e", "pra": "para", "pro": "para o"}


@dataclass(frozen=True)
class Match:
    """The entry a question matched and how sure the matcher is (0-100)."""

    entry: Entry
    confidence: float


def normalised(text: str) -> str:
    """Folded words without punctuation or filler, chat spellings expanded: what the matcher compares."""
    expanded = " ".join(_SPELLINGS.get(word, word) for word in simplify(text).split())
    return " ".join(word for word in expanded.split() if word not in _FILLER)


def best_match(knowledge: Knowledge, question: str) -> Match | None:
    """The entry whose question variants (in any language) are closest to `question`, if sure enough."""
    query = _sorted_words(normalised(question))
    if not query:
        return None
    variants, owners = _variants(knowledge)
    # rapidfuzz's token_sort_ratio: whole questions compared with word order ignored, so "integra com o
    # hubspot?" still matches "vocês integram com hubspot" while a question sharing only "what is" with a
    # variant stays low. The variants' words are sorted once, in the index, so each message costs a plain
    # ratio per variant (the same score as token_sort_ratio, without re-sorting every variant every time).
    found = process.extractOne(query, variants, scorer=fuzz.ratio, score_cutoff=knowledge.min_confidence)
    if found is None:
        return None
    _, score, index = found
    return Match(owners[index], float(score))


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


@lru_cache(maxsize=8)
def _variants(knowledge: Knowledge) -> tuple[tuple[str, ...], tuple[Entry, ...]]:
    """Every normalised question variant with the entry it belongs to, built once per knowledge file."""
    pairs = [
        (_sorted_words(normalised(variant)), entry)
        for entry in knowledge.entries
        for variants in entry.questions.values()
        for variant in variants
    ]
    return tuple(text for text, _ in pairs), tuple(entry for _, entry in pairs)
