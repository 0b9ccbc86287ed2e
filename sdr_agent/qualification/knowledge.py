"""The company knowledge file: what the bot may answer when a lead asks something, validated at start."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from .flow_model import FlowError
from .located_yaml import LocatedDict, load_located

ABOUT_KEYS = ("product", "audience", "pricing", "integrations", "bot", "meeting")
REPLY_KEYS = ("back_to_question", "noted", "callback", "callback_no_time", "declined", "ask_again", "corrected", "got_it")
DEFAULT_MIN_CONFIDENCE = 80.0
_TOP_KEYS = {"company", "version", "languages", "min_confidence", "replies", "about", "faq"}
_ENTRY_KEYS = {"id", "questions", "answer", "voice"}


class KnowledgeError(FlowError):
    """The knowledge file is invalid; the message names the file, the entry, the reason and the line."""


@dataclass(frozen=True)
class Entry:
    """One thing the bot knows: the ways a lead asks it and the answer, per language."""

    id: str
    questions: Mapping[str, tuple[str, ...]]
    answers: Mapping[str, str]
    voice: Mapping[str, str] = field(default_factory=dict)

    def answer(self, language: str, *, voice: bool = False) -> str:
        """The answer in `language`; its voice version on calls when one is written."""
        return (self.voice.get(language) if voice else None) or self.answers[language]


@dataclass(frozen=True, eq=False)  # compared by identity, so the matcher can cache its index per file
class Knowledge:
    """A validated knowledge file."""

    company: str
    languages: tuple[str, ...]
    entries: tuple[Entry, ...]
    replies: Mapping[str, Mapping[str, str]]
    min_confidence: float = DEFAULT_MIN_CONFIDENCE

    def reply(self, key: str, language: str, **values: str) -> str:
        """One of the bot's own lines around answers, with {placeholders} filled."""
        text = self.replies[key][language]
        for name, value in values.items():
            text = text.replace("{" + name + "}", value)
        return text


def default_knowledge_path() -> Path:
    """The example knowledge file shipped with the package."""
    return Path(__file__).resolve().parent / "default_knowledge.yaml"


def load_knowledge(path: str | Path, languages: tuple[str, ...]) -> Knowledge:
    """Read and validate a knowledge file for a flow in `languages`; problems raise KnowledgeError."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeError(f"{path.name}: cannot read the knowledge file ({exc})") from None
    try:
        document = load_located(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise KnowledgeError(f"{path.name}: invalid YAML: {getattr(exc, 'problem', None) or exc}{line}") from None
    return _Builder(path.name, languages).build(document)


class _Builder:
    """Checks a parsed knowledge file; every error names the file, the entry and the line."""

    def __init__(self, file_name: str, languages: tuple[str, ...]) -> None:
        self.file_name = file_name
        self.languages = languages
        self.entry: str | None = None

    def error(self, reason: str, where: Any = None, key: Any = None) -> KnowledgeError:
        line = where.line_of(key) if isinstance(where, LocatedDict) else None
        entry = f"entry '{self.entry}': " if self.entry else ""
        return KnowledgeError(f"{self.file_name}: {entry}{reason}" + (f" (line {line})" if line else ""))

    def build(self, document: Any) -> Knowledge:
        if not isinstance(document, LocatedDict):
            raise self.error("the knowledge file must be a YAML mapping")
        self._known(document, _TOP_KEYS, "the file")
        company = document.get("company")
        if not isinstance(company, str) or not company.strip():
            raise self.error("'company' must be the company's name", document, "company")
        languages = document.get("languages")
        if not isinstance(languages, list) or set(self.languages) - {str(item) for item in languages}:
            raise self.error(f"'languages' must list every language of the flow: {', '.join(self.languages)}",
                             document, "languages")
        confidence = document.get("min_confidence", DEFAULT_MIN_CONFIDENCE)
        if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence <= 100:
            raise self.error("'min_confidence' must be a number above 0 and at most 100", document, "min_confidence")
        replies = self._mapping(document, "replies")
        about = self._mapping(document, "about")
        faq = document.get("faq", [])
        if not isinstance(faq, list):
            raise self.error("'faq' must be a list of entries", document, "faq")
        self._known(about, ABOUT_KEYS, "'about'")  # a misspelt section is named before the missing one
        entries = [self._about(about, key) for key in ABOUT_KEYS]
        entries += [self._faq(item, document) for item in faq]
        ids = [entry.id for entry in entries]
        duplicates = sorted({entry_id for entry_id in ids if ids.count(entry_id) > 1})
        if duplicates:
            raise self.error(f"entry ids must be unique, repeated: {', '.join(duplicates)}", document, "faq")
        return Knowledge(
            company=company.strip(),
            languages=self.languages,
            entries=tuple(entries),
            replies={key: self._texts(replies, key) for key in self._reply_keys(replies)},
            min_confidence=float(confidence),
        )

    def _reply_keys(self, replies: LocatedDict) -> tuple[str, ...]:
        self._known(replies, REPLY_KEYS, "'replies'")
        return REPLY_KEYS

    def _about(self, about: LocatedDict, key: str) -> Entry:
        self.entry = key
        if not isinstance(about.get(key), LocatedDict):
            self.entry = None
            raise self.error(f"'about' needs '{key}' with questions and an answer", about, key)
        entry = self._entry(about[key], key)
        self.entry = None
        return entry

    def _faq(self, item: Any, document: LocatedDict) -> Entry:
        if not isinstance(item, LocatedDict):
            raise self.error("every 'faq' item must be a mapping with id, questions and answer", document, "faq")
        entry_id = item.get("id")
        if not isinstance(entry_id, str) or not entry_id.strip():
            raise self.error("every 'faq' item needs an 'id'", item, "id")
        self.entry = entry_id
        entry = self._entry(item, entry_id)
        self.entry = None
        return entry

    def _entry(self, item: LocatedDict, entry_id: str) -> Entry:
        self._known(item, _ENTRY_KEYS - ({"id"} if entry_id in ABOUT_KEYS else set()), "an entry")
        questions = self._mapping(item, "questions")
        variants: dict[str, tuple[str, ...]] = {}
        for language in self.languages:
            listed = questions.get(language)
            if not isinstance(listed, list) or not listed or not all(isinstance(q, str) and q.strip() for q in listed):
                raise self.error(f"'questions' needs a non-empty list of texts in {language}", questions, language)
            variants[language] = tuple(q.strip() for q in listed)
        voice = item.get("voice")
        if voice is not None and not isinstance(voice, LocatedDict):
            raise self.error("'voice' must map languages to answers", item, "voice")
        voice_texts = {lang: text.strip() for lang, text in (voice or {}).items() if isinstance(text, str)}
        if voice is not None and set(voice) - set(self.languages) or len(voice_texts) != len(voice or {}):
            raise self.error("'voice' must map the flow's languages to texts", item, "voice")
        return Entry(entry_id, variants, self._texts(item, "answer"), voice_texts)

    def _texts(self, parent: LocatedDict, key: str) -> dict[str, str]:
        texts = parent.get(key)
        if not isinstance(texts, LocatedDict):
            raise self.error(f"'{key}' must map every language to a text", parent, key)
        result = {}
        for language in self.languages:
            text = texts.get(language)
            if not isinstance(text, str) or not text.strip():
                raise self.error(f"'{key}' has no text in {language}", texts, language)
            result[language] = text.strip()
        return result

    def _mapping(self, parent: LocatedDict, key: str) -> LocatedDict:
        value = parent.get(key)
        if not isinstance(value, LocatedDict):
            raise self.error(f"'{key}' must be a mapping", parent, key)
        return value

    def _known(self, mapping: LocatedDict, allowed: Any, what: str) -> None:
        unknown = [key for key in mapping if key not in allowed]
        if unknown:
            raise self.error(f"unknown key '{unknown[0]}' in {what}", mapping, unknown[0])
