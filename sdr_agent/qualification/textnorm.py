"""Text clean-up and accent/case folding shared by the parsers, intents and language detection."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Longer messages are cut before parsing: no answer needs more, and it bounds regex work.
MAX_INPUT_CHARS = 2000

# The lookbehind makes a match start only where a word starts, which keeps long runs linear.
EMAIL_PATTERN = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
URL_PATTERN = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_NOT_ALNUM = re.compile(r"[^\w]+|_")
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")

# Answers that say nothing, in both languages, in `simplify` form.
NON_ANSWERS = frozenset(
    {
        "nao sei", "sei la", "nao", "sim", "ok", "okay", "nada", "nenhum", "nenhuma", "talvez", "n", "s",
        "no", "yes", "none", "nothing", "idk", "dunno", "i dont know", "dont know", "i don t know", "don t know",
        "maybe", "test", "teste", "testing", "asdf", "hmm", "hm", "eh", "ah", "oi", "ola", "hi", "hello", "hey",
        # Small talk, typically after coming back to the conversation
        "voltei", "cheguei", "estou de volta", "to de volta", "de volta", "oi de novo", "ola de novo", "i m back",
        "im back", "back", "hello again", "tudo bem", "tudo bom", "e ai", "eai", "bom dia", "boa tarde", "boa noite",
        "good morning", "good afternoon", "good evening", "obrigado", "obrigada", "valeu", "thanks", "thank you",
        "desculpa", "desculpe", "sorry", "pronto", "certo", "entendi", "what", "como assim", "quem e voce",
        "who is this", "who are you",
    }
)


def clean(text: str | None) -> str:
    """Drop control characters (NUL included) and surrogates, normalise to NFC, trim and cap the length."""
    if not text:
        return ""
    kept = [
        " " if char in "\t\r" else char
        for char in unicodedata.normalize("NFC", text[: MAX_INPUT_CHARS * 2])
        if char in "\n\t\r" or unicodedata.category(char) not in ("Cc", "Cs")
    ]
    return "".join(kept).strip()[:MAX_INPUT_CHARS]


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFD", char) if not unicodedata.combining(c))
    lower = base.lower()
    if len(lower) == 1:
        return lower
    # Keep one character per character so match positions map back onto the original text.
    return char.lower() if len(char.lower()) == 1 else char


def fold(text: str) -> str:
    """Lower-case and strip accents, keeping the same length as the input."""
    if text.isascii():
        return text.lower()  # most messages: no accents to strip, and ASCII lower-casing keeps the length
    return "".join(_fold_char(char) for char in text)


def simplify(text: str) -> str:
    """Folded text with punctuation and symbols turned into single spaces, for phrase matching."""
    return _SPACES.sub(" ", _NOT_ALNUM.sub(" ", fold(text))).strip()


def words(text: str) -> list[str]:
    """Folded words (letters, inner hyphens and apostrophes) with e-mails and URLs removed."""
    text = URL_PATTERN.sub(" ", EMAIL_PATTERN.sub(" ", text))
    return [word.replace("’", "'") for word in _WORD.findall(fold(text))]


def collapse_spaces(text: str) -> str:
    """Single spaces, trimmed."""
    return _SPACES.sub(" ", text).strip()
