"""Numbers said in words, as speech recognition may write them: "duzentos e cinquenta", "twenty-five"."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# Folded words below a thousand; "mil", "thousand" and "million" stay words for the money parser.
_VALUES = {
    # Portuguese
    "zero": 0, "um": 1, "uma": 1, "dois": 2, "duas": 2, "tres": 3, "quatro": 4, "cinco": 5, "seis": 6, "sete": 7,
    "oito": 8, "nove": 9, "dez": 10, "onze": 11, "doze": 12, "treze": 13, "catorze": 14, "quatorze": 14, "quinze": 15,
    "dezesseis": 16, "dezasseis": 16, "dezessete": 17, "dezoito": 18, "dezenove": 19, "vinte": 20, "trinta": 30,
    "quarenta": 40, "cinquenta": 50, "sessenta": 60, "setenta": 70, "oitenta": 80, "noventa": 90, "cem": 100,
    "cento": 100, "duzentos": 200, "duzentas": 200, "trezentos": 300, "trezentas": 300, "quatrocentos": 400,
    "quatrocentas": 400, "quinhentos": 500, "quinhentas": 500, "seiscentos": 600, "seiscentas": 600,
    "setecentos": 700, "setecentas": 700, "oitocentos": 800, "oitocentas": 800, "novecentos": 900, "novecentas": 900,
    # English
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
    "eighty": 80, "ninety": 90,
}
_HUNDRED = "hundred"
# "a" counts only in "a hundred"; alone, "um"/"one" is far more often an article ("um orçamento").
_LONE_ONES = frozenset({"um", "uma", "one", "a"})
_WORD = re.compile(r"[a-z]+")
# What may sit between the words of one number: "vinte e cinco", "twenty-five", "one hundred and five".
_JOIN = re.compile(r"\s+|\s*-\s*|\s+(?:e|and)\s+")


@dataclass
class _Number:
    start: int
    end: int
    value: int
    room: int  # the next word joins only if its value is below this: "vinte e cinco", not "dez e vinte"
    words: list[str] = field(default_factory=list)


def numerals(folded: str, lone_one: bool = False) -> str:
    """Folded text with number words below a thousand in digits ("vinte e cinco mil" -> "25 mil")."""
    # A bare "um"/"one" stays a word unless the caller knows the text is a number by itself.
    for number in reversed(_numbers(folded)):
        if lone_one or not set(number.words) <= _LONE_ONES:
            folded = folded[: number.start] + str(number.value) + folded[number.end :]
    return folded


def _numbers(folded: str) -> list[_Number]:
    numbers: list[_Number] = []
    tokens = list(_WORD.finditer(folded))
    for index, token in enumerate(tokens):
        word = token.group()
        following = tokens[index + 1].group() if index + 1 < len(tokens) else ""
        if word not in _VALUES and word != _HUNDRED and not (word == "a" and following == _HUNDRED):
            continue
        last = numbers[-1] if numbers and _JOIN.fullmatch(folded[numbers[-1].end : token.start()]) else None
        value = 1 if word == "a" else _VALUES.get(word, 100)
        if word == _HUNDRED and last is not None and last.room == 1 and 0 < last.value < 10:
            last.value, last.room = last.value * 100, 100  # "two hundred"
        elif word != _HUNDRED and last is not None and 0 < value < last.room:
            last.value, last.room = last.value + value, _room(value)
        else:
            numbers.append(_Number(token.start(), token.end(), value, _room(value)))
            numbers[-1].words.append(word)
            continue
        last.end = token.end()
        last.words.append(word)
    return numbers


def _room(value: int) -> int:
    """Below what value a following word may still add to a number ending in `value`."""
    if value >= 100:
        return 100
    return 10 if value >= 20 and value % 10 == 0 else 1
