"""Which offered option a reply names: "2", "opção 2", "a segunda", "the second one"."""
from __future__ import annotations

import re

from ..qualification.textnorm import clean, simplify
from ..qualification.validators.spoken_numbers import numerals

_ORDINALS = {
    "primeira": 1, "primeiro": 1, "segunda": 2, "segundo": 2, "terceira": 3, "terceiro": 3, "quarta": 4,
    "quarto": 4, "quinta": 5, "quinto": 5, "sexta": 6, "sexto": 6, "setima": 7, "setimo": 7, "oitava": 8,
    "oitavo": 8, "nona": 9, "nono": 9, "decima": 10, "decimo": 10, "first": 1, "second": 2, "third": 3,
    "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10, "1st": 1, "2nd": 2,
    "3rd": 3,
}
# Ordinals that are also weekday names ("quinta" is Thursday): beyond the offered count they are the day.
_WEEKDAY_ORDINALS = frozenset({"segunda", "quarta", "quinta", "sexta"})
_ONE = {"um": 1, "uma": 1, "one": 1}
_OPTION_WORD = r"(?:opcao|option|alternativa|numero|number|n[oº]?|nr|horario|slot)"
_POLITE = r"(?:\s+(?:por favor|please|pls|obrigado|obrigada|thanks))?"
# The whole reply must be the choice: "2", "opção 2", "quero a 2", "é a dois", "option #2".
_DIGITS = re.compile(
    rf"^(?:(?:quero|prefiro|pode ser|escolho|fico com|vou de|i ll take|ill take|i choose|i want|let s do|lets do"
    rf"|e|eh|it s|its)\s+)?(?:(?:a|o|the)\s+)?(?:{_OPTION_WORD}\s+)?(\d{{1,2}}|um|uma|one){_POLITE}$"
)
# Ordinal words: "a segunda", "segunda opção", "the second one". A weekday name with anything
# else ("segunda às 10h", "na segunda") is a date, which the time parser reads.
_ORDINAL = re.compile(
    rf"^(?:(?:quero|prefiro|pode ser|escolho|fico com|vou de|i ll take|ill take|i choose|i want|let s do|lets do"
    rf"|e|eh|it s|its)\s+)?(?:(?:a|o|the)\s+)?({'|'.join(_ORDINALS)})(\s+(?:{_OPTION_WORD}|one))?{_POLITE}$"
)


def option_number(text: str, offered: int) -> int | None:
    """The 1-based option number the reply names (digits may be out of range); None when it names none."""
    simple = simplify(numerals(simplify(clean(text))))
    # "#2" and "nº 2" lose their symbol in `simplify`, which is what we want.
    digits = _DIGITS.match(simple)
    if digits:
        value = digits.group(1)
        return _ONE[value] if value in _ONE else int(value)
    ordinal = _ORDINAL.match(simple)
    if not ordinal:
        return None
    number = _ORDINALS[ordinal.group(1)]
    is_weekday = ordinal.group(1) in _WEEKDAY_ORDINALS and not ordinal.group(2)
    return None if number > offered and is_weekday else number
