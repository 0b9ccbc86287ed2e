"""The validated, immutable form of a flow file and the texts it renders."""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Mapping

from .rules import Comparison
from .speech import speakable, without_pictographs

if TYPE_CHECKING:
    from .knowledge import Knowledge

PLACEHOLDER = re.compile(r"\{(\w+)\}")
# A missing value takes the separator before it along ("Obrigado, {name}!" -> "Obrigado!").
_FILL = re.compile(r"(?P<before>,?[ \t]*)\{(?P<key>\w+)\}")


class FlowError(ValueError):
    """The flow file is invalid; the message names the file, the stage, the reason and the line."""


def fill(template: str, slots: Mapping[str, Any] | None) -> str:
    """Replace {slot} placeholders with text slot values, dropping the ones without a value."""

    def value(match: re.Match[str]) -> str:
        slot_value = (slots or {}).get(match.group("key"))
        if isinstance(slot_value, str) and slot_value.strip():
            return match.group("before") + slot_value
        return ""

    return _FILL.sub(value, template).strip(" ,")


@dataclass(frozen=True)
class Option:
    """One answer of a choice question."""

    id: str
    labels: Mapping[str, str]
    keywords: Mapping[str, tuple[str, ...]]
    score: int = 0


@dataclass(frozen=True)
class ScoreRule:
    """Points given when a numeric slot satisfies a comparison."""

    comparison: Comparison
    points: int


@dataclass(frozen=True)
class QuestionStage:
    """One question of the flow and how its answer is read and scored."""

    id: str
    slot: str
    type: str
    asks: Mapping[str, str]
    retries: Mapping[str, str]
    topics: Mapping[str, str]  # what the question is about, e.g. "your budget", for welcoming callers back
    voice: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # "ask"/"retry" -> language -> text
    defer_to_whatsapp: bool = False  # on calls, leave this question to be answered in writing
    on_retry_limit: str = "skip"
    on_refusal: str = "skip"  # "ask_again": a lead who declines is asked once more before it is left blank
    options: tuple[Option, ...] = ()
    min_length: int = 3
    currencies: Mapping[str, str] = field(default_factory=dict)
    score_rules: tuple[ScoreRule, ...] = ()

    def ask(self, language: str, slots: Mapping[str, Any] | None = None, *, voice: bool = False) -> str:
        """The question in `language`, with placeholders filled and a choice's options; speakable if `voice`."""
        return self._text("ask", self.asks, language, slots, voice)

    def retry(self, language: str, slots: Mapping[str, Any] | None = None, *, voice: bool = False) -> str:
        """What to say after an answer that could not be read."""
        return self._text("retry", self.retries, language, slots, voice)

    def option(self, option_id: Any) -> Option | None:
        """The option with this id, if any."""
        return next((option for option in self.options if option.id == option_id), None)

    def _text(
        self, kind: str, texts: Mapping[str, str], language: str, slots: Mapping[str, Any] | None, voice: bool
    ) -> str:
        written_for_voice = self.voice.get(kind, {}).get(language) if voice else None
        text = fill(written_for_voice or texts[language], slots)
        options = "\n".join(f"{number}) {option.labels[language]}" for number, option in enumerate(self.options, 1))
        if not voice:
            return f"{text}\n{options}" if options else text
        if written_for_voice is None:
            return speakable(f"{text}\n{options}", language)
        # A voice text is speakable as written; only the options still need reading out.
        return f"{without_pictographs(text)} {speakable(options, language)}".strip()


@dataclass(frozen=True)
class DisqualifyRule:
    """A slot value that ends the qualification as disqualified, whatever the score."""

    slot: str
    comparison: Comparison
    reason: str


@dataclass(frozen=True)
class Flow:
    """A validated qualification flow: questions in order, scoring, outcome and texts."""

    name: str
    version: int
    languages: tuple[str, ...]
    stages: tuple[QuestionStage, ...]
    texts: Mapping[str, Mapping[str, str]]
    qualify_at: float
    disqualify: tuple[DisqualifyRule, ...] = ()
    retry_limit: int = 2
    voice_texts: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # key -> language -> text
    hand_off_at: float | None = None  # a score this high hands the lead to a person at once (hot lead)
    knowledge: Knowledge | None = None  # the company knowledge questions are answered from; None answers none

    def with_knowledge(self, knowledge: Knowledge | None) -> "Flow":
        """This flow answering questions from `knowledge`."""
        return replace(self, knowledge=knowledge)

    @property
    def stage_ids(self) -> tuple[str, ...]:
        """Question stage ids in flow order."""
        return tuple(stage.id for stage in self.stages)

    def question_stage(self, stage_id: str) -> QuestionStage:
        """The question stage with this id; KeyError if the flow has none."""
        for stage in self.stages:
            if stage.id == stage_id:
                return stage
        raise KeyError(f"flow {self.name!r} has no question stage {stage_id!r}")

    def text(self, key: str, language: str, slots: Mapping[str, Any] | None = None, *, voice: bool = False) -> str:
        """A global text in `language`, with placeholders filled from `slots`; speakable if `voice`."""
        if not voice:
            return fill(self.texts[key][language], slots)
        written_for_voice = self.voice_texts.get(key, {}).get(language)
        if written_for_voice is not None:
            return without_pictographs(fill(written_for_voice, slots))
        return speakable(fill(self.texts[key][language], slots), language)
