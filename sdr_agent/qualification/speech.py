"""Chat texts made fit to be read aloud on a call: no emoji, links or markdown; lists and hints spoken."""
from __future__ import annotations

import re
import unicodedata
from typing import Mapping

from .language import primary
from .textnorm import URL_PATTERN, collapse_spaces

# Words the spoken forms need, by primary language; other languages fall back to English.
_WORDS: dict[str, dict[str, str]] = {
    "pt": {"option": "opção", "or": "ou", "yes": "sim", "no": "não"},
    "en": {"option": "option", "or": "or", "yes": "yes", "no": "no"},
}
# Symbols (emoji, ©, ✅), invisible format characters (ZWJ, BOM), enclosing marks (keycaps), private use.
_DROPPED_CATEGORIES = frozenset({"So", "Cf", "Me", "Co", "Cs"})
_EMOJI_MODIFIERS = (range(0xFE00, 0xFE10), range(0x1F3FB, 0x1F400))  # variation selectors, skin tones
# `*bold*`, `**bold**`, `_it_`, `~x~`: the markers must hug the words and not sit inside one ("snake_case").
_EMPHASIS = re.compile(r"(?<![\w*_~])(\*\*|__|~~|[*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")
# "Sócio(a)", "item(s)": written gender and plural endings, which a voice reads as separate letters.
_GENDER_ENDING = re.compile(r"(?<=[^\W\d_])\((?:a|as|o|os)\)", re.IGNORECASE)
_PLURAL_ENDING = re.compile(r"(?<=[^\W\d_])\((s|es)\)", re.IGNORECASE)
_SLASH_HINT = re.compile(r"\(\s*([^\W\d_]+(?:\s*/\s*[^\W\d_]+)+)\s*\)")
_LIST_ITEM = re.compile(r"^(\d{1,2})[.)]\s+(\S.*)$")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+(?=[.,;:!?])")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)|\[\s*\]")
_SENTENCE_END = ".!?…"
_CLAUSE_END = _SENTENCE_END + ",;:"


def spoken_words(language: str) -> Mapping[str, str]:
    """"option", "or", "yes" and "no" in `language` (English for languages without their own)."""
    return _WORDS.get(primary(language), _WORDS["en"])


def without_pictographs(text: str) -> str:
    """The text with emoji and other pictographic symbols removed."""
    return collapse_spaces("".join(char for char in text if not _is_pictographic(char)))


def speakable(text: str, language: str) -> str:
    """The text as a call should say it: plain words, numbered options and (yes/no) hints read out."""
    words = spoken_words(language)
    text = "".join(char for char in text if not _is_pictographic(char))
    text = _plain(URL_PATTERN.sub(" ", text))
    text = _joined_lines(_spoken_lists(text.splitlines(), words))
    text = _SLASH_HINT.sub(lambda match: _spoken_hint(match, words), text)
    text = _SPACE_BEFORE_PUNCTUATION.sub("", collapse_spaces(_EMPTY_BRACKETS.sub(" ", text)))
    return text.strip(" ,;:")


def _is_pictographic(char: str) -> bool:
    code = ord(char)
    return unicodedata.category(char) in _DROPPED_CATEGORIES or any(code in block for block in _EMOJI_MODIFIERS)


def _plain(text: str) -> str:
    """Markdown markers and written word endings removed."""
    text = text.replace("`", "")
    while True:
        unmarked = _EMPHASIS.sub(r"\2", text)
        if unmarked == text:
            break
        text = unmarked
    # Gender endings are dropped ("Sócio(a)" -> "Sócio"), plural ones kept ("item(s)" -> "items").
    return _PLURAL_ENDING.sub(r"\1", _GENDER_ENDING.sub("", text.replace("*", "")))


def _spoken_lists(lines: list[str], words: Mapping[str, str]) -> list[str]:
    """Runs of "1) Founder" lines become one line: "option 1, Founder; option 2, Director."."""
    result: list[str] = []
    items: list[str] = []
    for line in [*(line.strip() for line in lines), ""]:
        item = _LIST_ITEM.match(line)
        if item:
            items.append(f"{words['option']} {item.group(1)}, {item.group(2).rstrip(_CLAUSE_END + ' ')}")
            continue
        if items:
            spoken = "; ".join(items) + "."
            # After "...one of these:" the list goes on the sentence; otherwise it starts one.
            result.append(spoken if result and result[-1][-1] in ",;:" else _capitalised(spoken))
            items = []
        if line:
            result.append(line)
    return result


def _joined_lines(lines: list[str]) -> str:
    """One line; a line break without punctuation becomes a full stop, so the voice pauses there."""
    joined = ""
    for line in lines:
        separator = " " if not joined or joined[-1] in _CLAUSE_END else ". "
        joined += separator + line
    return joined


def _spoken_hint(match: re.Match[str], words: Mapping[str, str]) -> str:
    """"(sim/não)" -> "sim ou não"; "(a/b/c)" -> "a, b ou c"."""
    choices = [choice.strip() for choice in match.group(1).split("/")]
    spoken = ", ".join(choices[:-1]) + f" {words['or']} {choices[-1]}"
    return _capitalised(spoken) if _starts_sentence(match.string[: match.start()]) else spoken


def _starts_sentence(before: str) -> bool:
    before = before.rstrip()
    return not before or before[-1] in _SENTENCE_END


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
