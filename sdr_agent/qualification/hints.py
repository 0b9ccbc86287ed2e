"""Speech recognition hints: the words a caller is likely to say next."""
from __future__ import annotations

from typing import Iterable

from .flow_model import Flow, QuestionStage
from .intents import SPOKEN_COMMANDS, Intent
from .language import primary
from .speech import speakable, spoken_words
from .types import LeadState

MAX_HINTS = 20
MAX_HINT_CHARS = 99


def speech_hints(flow: Flow, state: LeadState) -> list[str]:
    """Words to expect at the lead's current stage: yes/no, a choice's options, the global commands."""
    language = state.language if state.language in flow.languages else flow.languages[0]
    commands = SPOKEN_COMMANDS.get(primary(language), SPOKEN_COMMANDS["en"])
    if state.opted_out:
        return [commands[Intent.OPT_IN]]
    always = [phrase for intent, phrase in commands.items() if intent is not Intent.OPT_IN]
    answers = _unique(_answer_hints(flow, state, language))
    # The commands must always fit: answers give way to them.
    return _unique([*answers[: MAX_HINTS - len(always)], *always])[:MAX_HINTS]


def _answer_hints(flow: Flow, state: LeadState, language: str) -> Iterable[str]:
    words = spoken_words(language)
    question = next((stage for stage in flow.stages if stage.id == state.stage), None)
    if state.pending is not None or (question is not None and question.type == "consent"):
        yield from (words["yes"], words["no"])
    if question is not None:
        yield from _choice_hints(question, language)


def _choice_hints(question: QuestionStage, language: str) -> Iterable[str]:
    """Every label first, then keywords taken in turn from each option so all options are covered."""
    for option in question.options:
        yield speakable(option.labels[language], language)
    keywords = [list(option.keywords.get(language, ())) for option in question.options]
    for rank in range(max((len(words) for words in keywords), default=0)):
        yield from (words[rank] for words in keywords if rank < len(words))


def _unique(phrases: Iterable[str]) -> list[str]:
    """Non-empty, short enough, first occurrence kept (case-insensitive)."""
    seen: set[str] = set()
    result = []
    for phrase in phrases:
        key = phrase.casefold()
        if phrase and len(phrase) <= MAX_HINT_CHARS and key not in seen:
            seen.add(key)
            result.append(phrase)
    return result
