"""Telling a lead's questions apart from answers, in pt-BR and en, clause by clause."""
from __future__ import annotations

import re
from dataclasses import dataclass

from .textnorm import NON_ANSWERS, simplify

MAX_QUESTION_CHARS = 200
# "alô?", "e agora?", "julho?": a question mark on a word or two is a doubt, not a question for the knowledge.
MIN_MARKED_WORDS = 3
# Clauses end at "?", "!", ";", a new line, or a comma or full stop followed by a space; "R$ 20.000,00"
# and "ana@acme.com.br" have no space after their punctuation, so they stay whole.
_CLAUSE_END = re.compile(r"(?<=[?!])\s*|[;\n]+\s*|[,.]\s+")
# Interrogative openings strong enough to mark a question without a question mark. "quando"/"when"
# and "como"/"as" are left out: "quando tivermos verba" and "como gerente" are answers.
_OPENING = re.compile(
    r"^(?:e\s+)?(?:"
    r"quant[oa]s?(?! antes)|qual|quais|onde|quem|por que|pq|o que|que tipo|como (?:funciona|e|eh|faz|fica|seria|vcs|voces)"
    r"|(?:voces|vcs|voce|vc) (?:tem|fazem|faz|integram|integra|atendem|atende|aceitam|aceita|oferecem|trabalham"
    r"|cobram|sao|e|podem|conseguem)"
    r"|da (?:pra|para)|tem como|e possivel|sera que|existe|tem (?:teste|plano|desconto|fidelidade|contrato|api|app)"
    r"|is (?:it|there|this)|are (?:you|there|they)|do (?:you|i|they)|does (?:it|this|that)|can (?:you|i|we)"
    r"|could (?:you|i|we)|what|how|which|who|where|why|will (?:it|you)|would (?:it|you)"
    r")\b"
)


@dataclass(frozen=True)
class Split:
    """A message cut into the questions it asks and the rest (what may answer the open question)."""

    questions: tuple[str, ...]  # clauses that ask something, trimmed and capped
    marked: bool  # at least one ends with a question mark (or starts with "¿")
    rest: str  # the other clauses, joined again with commas


def split_questions(text: str) -> Split:
    """Cut `text` into clauses and sort them into questions and the rest."""
    questions: list[str] = []
    others: list[str] = []
    marked = False
    for clause in (part.strip(" ,.") for part in _CLAUSE_END.split(text)):
        if not clause:
            continue
        kind = clause_kind(clause)
        if kind is None:
            others.append(clause)
        else:
            questions.append(clause[:MAX_QUESTION_CHARS])
            marked = marked or kind == "marked"
    return Split(tuple(questions), marked, ", ".join(others))


def clause_kind(clause: str) -> str | None:
    """"marked" (a question mark), "opening" (an interrogative start) or None for a statement."""
    simple = simplify(clause)
    if not simple or simple in NON_ANSWERS:
        return None  # "sim?", "oi?", "como assim?": not a question about the company
    if _OPENING.match(simple):
        return "opening" if "?" not in clause and not clause.startswith("¿") else "marked"
    if ("?" in clause or clause.startswith("¿")) and len(simple.split()) >= MIN_MARKED_WORDS:
        return "marked"
    return None
