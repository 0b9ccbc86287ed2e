"""Multiple choice: the option number (in digits or words), its label, or one of its keywords anywhere in the text."""
from __future__ import annotations

import re
from typing import Mapping, Protocol, Sequence

from ..textnorm import fold, simplify
from .result import REJECTED, ParseResult, accepted
from .spoken_numbers import numerals

# "2", "2)", "2 - Diretor", "opção 2", "option #2", "é a 2", "dois"; matched on folded text, numbers in digits.
_NUMBER = re.compile(
    r"^(?:(?:e|eh|it'?s)\s+)?(?:(?:a|o|the)\s+)?(?:(?:opcao|option|alternativa|numero|number|n[oº°.]?|nr|#)\s*)?"
    r"(\d{1,2})\s*(?:[).:!\-–]|$)"
)


class Choosable(Protocol):
    """What the parser needs to know about one option (read-only, as on a frozen dataclass)."""

    @property
    def id(self) -> str: ...

    @property
    def labels(self) -> Mapping[str, str]: ...

    @property
    def keywords(self) -> Mapping[str, Sequence[str]]: ...


def parse(text: str, language: str, options: Sequence[Choosable]) -> ParseResult:
    """The id of the chosen option (every language's labels and keywords count)."""
    simple = simplify(text)
    number = _NUMBER.match(numerals(fold(text).strip(), lone_one=True))
    if number:
        index = int(number.group(1))
        return accepted(options[index - 1].id) if 1 <= index <= len(options) else REJECTED
    for option in options:
        if simple in {simplify(label) for label in option.labels.values()}:
            return accepted(option.id)
    best: tuple[int, int, str] | None = None  # (position, -keyword length, option id): first mention wins
    padded = f" {simple} "
    for option in options:
        for keywords in option.keywords.values():
            for keyword in keywords:
                position = padded.find(f" {simplify(keyword)} ")
                if position >= 0 and (best is None or (position, -len(keyword)) < best[:2]):
                    best = (position, -len(keyword), option.id)
    return accepted(best[2]) if best else REJECTED
