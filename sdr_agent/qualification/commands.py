"""Commands proposed for a message (by a language model) applied by the engine: every value validated here."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

from . import scoring
from .asides import MAX_OPEN_QUESTIONS, _note_callback
from .callbacks import find_callback
from .draft import HANDOFF, Draft, advance, resume
from .engine import DECLINED, OUTCOME_STAGES, _hand_off, _is_hot, _opt_out, _restart, _update_language
from .flow_model import Flow, Option, QuestionStage
from .knowledge import Entry
from .matcher import best_match
from .textnorm import simplify
from .types import STAGE_NEW, TERMINAL_STAGES, AskedQuestion, EventKind, LeadState, StepResult, Turn
from .validators import parse_answer
from .validators.consent import parse as parse_yes_no
from .validators.spoken_numbers import _VALUES as NUMBER_WORDS

COMMAND_NAMES = ("set_slot", "correct_slot", "question", "request_human", "callback", "restart", "opt_out",
                 "chitchat", "unclear")
MAX_COMMANDS = 6  # more than this in one message is a model gone astray, not a lead
# Types whose value must be made of the lead's own words: a model cannot invent a name or an address.
_QUOTED_TYPES = frozenset({"person_name", "company", "free_text", "email", "phone"})
_NUMERIC_TYPES = frozenset({"money", "timeframe"})
# Words that carry an amount or a time without a digit: "cinquenta mil", "next quarter", "semana que vem".
_AMOUNT_WORDS = frozenset(NUMBER_WORDS) | {"mil", "milhao", "milhoes", "thousand", "million", "k", "grand", "cem",
                                             "hundred", "meio", "half", "dobro", "double"}
_DIGIT = re.compile(r"\d")
_TYPO_SCORE = 85  # rapidfuzz partial ratio at which a word in the message names an option


@dataclass(frozen=True)
class Command:
    """One thing a message says: fill or correct a slot, a question, a request, or nothing usable."""

    name: str
    slot: str | None = None
    value: str | None = None
    topic: str | None = None  # the knowledge entry a question asks about, when the model picked one


def apply_commands(flow: Flow, state: LeadState, turn: Turn, commands: list[Command]) -> StepResult | None:
    """The step these commands make, in order; None when none of them is usable (the rules' step stands).

    Stage and score follow only from values that passed the slot's validator and are found in the lead's
    own message, exactly as for typed answers.
    """
    if state.opted_out or state.stage == HANDOFF or not commands:
        return None
    draft = Draft.begin(flow, state, turn)
    _update_language(draft)
    applier = _Applier(draft, draft.question())
    for command in commands[:MAX_COMMANDS]:
        if applier.apply(command):
            break  # the conversation ended or started over: what follows no longer applies
    if not applier.used:
        return None
    if not applier.ended:
        applier.finish()
    return draft.result()


class _Applier:
    """Applies commands to one draft and remembers what they did."""

    def __init__(self, draft: Draft, question: QuestionStage | None) -> None:
        self.draft = draft
        self.question = question
        self.used = False
        self.ended = False
        self.filled_open = False
        self.declined = False
        self.volunteered = False
        self.corrected: list[tuple[QuestionStage, Any]] = []
        self.topics: set[str] = set()
        self.noted = False

    def apply(self, command: Command) -> bool:
        """Apply one command; True when it ended the turn."""
        draft = self.draft
        name = command.name
        if name in ("set_slot", "correct_slot"):
            self._slot(command, correcting=name == "correct_slot")
        elif name == "question":
            self._question(command)
        elif name == "callback" and draft.flow.knowledge is not None and draft.state.callback is None:
            found = find_callback(draft.text)
            _note_callback(draft, found.when if found is not None else None)  # the time only as the lead wrote it
            draft.aside = self.used = True
        elif name == "request_human":
            _hand_off(draft, "user_requested")
            self.used = self.ended = True
        elif name == "restart":
            _restart(draft)
            self.used = self.ended = True
        elif name == "opt_out":
            _opt_out(draft)
            self.used = self.ended = True
        elif name == "chitchat":
            self.used = True  # small talk: the open question is asked again, no failure counted
        return self.ended

    def _slot(self, command: Command, correcting: bool) -> None:
        draft = self.draft
        stage = next((item for item in draft.flow.stages if item.slot == command.slot), None)
        if stage is None or command.value is None:
            return  # not a slot of this flow ("stage", "score", "qualified"): dropped
        value = _validated(stage, command.value, draft)
        if value is _INVALID:
            return
        if stage.type == "consent":
            if stage is not self.question:
                return
            if value is False:
                self.declined = self.used = True
                return
        known = stage.slot in draft.state.slots
        if draft.state.stage in TERMINAL_STAGES and not (known and draft.state.stage in OUTCOME_STAGES):
            return  # after the end, only a correction of a known answer can change anything
        if known and not correcting:
            return  # never overwrite an answer unless the lead corrects it
        if draft.state.stage in OUTCOME_STAGES and known:
            self.corrected.append((stage, value))
            self.used = True
            return
        draft.fill(stage, value)
        if known:
            draft.emit(EventKind.SLOT_CORRECTED, slot=stage.slot, stage=stage.id)
            self.corrected.append((stage, value))
        elif stage is self.question:
            self.filled_open = True
        else:
            self.volunteered = True
        self.used = True

    def _question(self, command: Command) -> None:
        draft = self.draft
        knowledge = draft.flow.knowledge
        if knowledge is None:
            return
        entry = _entry(knowledge.entries, command.topic) if command.topic else None
        if command.topic is None:
            match = best_match(knowledge, draft.text)
            entry = match.entry if match is not None else None
        text = draft.text[:200]
        stage = draft.state.stage
        draft.emit(EventKind.QUESTION_ASKED, stage=stage, answered=entry is not None,
                   **({"topic": entry.id} if entry is not None else {}))
        draft.questions.append(AskedQuestion(text, stage, entry.id if entry is not None else None))
        draft.aside = self.used = True
        if entry is None:
            # What the knowledge does not say is never answered: it is noted for the specialist.
            if not self.noted:
                kept = (*draft.state.open_questions, text)[-MAX_OPEN_QUESTIONS:]
                draft.state = draft.state.evolve(open_questions=kept)
                draft.reply(knowledge.reply("noted", draft.state.language))
                self.noted = True
        elif entry.id not in self.topics:
            self.topics.add(entry.id)
            draft.reply(entry.answer(draft.state.language, voice=draft.voice))

    def finish(self) -> None:
        """Ask what comes next: the next question, the open one again, or the outcome."""
        draft = self.draft
        question = self.question
        knowledge = draft.flow.knowledge
        if self.declined:
            draft.move_to(DECLINED)
            draft.emit(EventKind.DECLINED)
            draft.say(DECLINED)
            return
        if (self.filled_open or self.volunteered or self.corrected) and draft.state.stage not in TERMINAL_STAGES \
                and _is_hot(draft):
            _hand_off(draft, "hot_lead")
            return
        if draft.state.stage in OUTCOME_STAGES and self.corrected:
            for stage, value in self.corrected:
                draft.fill(stage, value)
                draft.emit(EventKind.SLOT_CORRECTED, slot=stage.slot, stage=stage.id)
            if knowledge is not None:
                draft.reply(knowledge.reply("corrected", draft.state.language))
            if scoring.outcome(draft.flow, draft.state.slots, draft.state.score).stage != draft.state.stage:
                advance(draft)
            return
        if question is None:
            if draft.state.stage == STAGE_NEW:
                advance(draft)
            elif draft.state.stage in TERMINAL_STAGES:
                if not draft.aside:
                    draft.say("done")
            else:
                resume(draft)
            return
        if self.filled_open:
            advance(draft)
            return
        if self.corrected and knowledge is not None and not draft.aside:
            draft.reply(knowledge.reply("corrected", draft.state.language))
        elif self.volunteered and knowledge is not None and not draft.aside:
            draft.reply(knowledge.reply("got_it", draft.state.language))
        draft.reask(question)


class _Invalid:
    """Marker of a value the validator refused."""


_INVALID: Any = _Invalid()


def _validated(stage: QuestionStage, value: str, draft: Draft) -> Any:
    """The value as the slot's validator reads it, if it is also found in the lead's message; else _INVALID."""
    value = value.strip()[:200]
    if not value:
        return _INVALID
    if stage.type == "choice":
        option = stage.option(value)
        if option is None:
            parsed = parse_answer(stage, value, draft.state.language, draft.turn.now)
            option = stage.option(parsed.value) if parsed.ok else None
        return option.id if option is not None and _mentions(option, draft.text) else _INVALID
    if stage.type == "consent":
        parsed = parse_yes_no(value, draft.state.language)
        return parsed.value if parsed.ok else _INVALID
    parsed = parse_answer(stage, value, draft.state.language, draft.turn.now)
    if not parsed.ok or not _grounded(stage.type, value, draft.text):
        return _INVALID
    return parsed.value


def _grounded(kind: str, value: str, message: str) -> bool:
    """Whether the message itself says this value: no amount without a number, no name it does not contain."""
    said = simplify(message)
    said_words = set(said.split())
    if _DIGIT.search(message) and kind in _NUMERIC_TYPES:
        return True
    if kind in _NUMERIC_TYPES:
        # An amount needs a number word; otherwise the value's own words ("não sei", "ano que vem") must be there.
        value_words = [word for word in simplify(value).split() if len(word) > 2]
        return (kind == "money" and any(_is_amount_word(word, _AMOUNT_WORDS) for word in said_words)) or (
            bool(value_words) and all(_is_amount_word(word, frozenset(said_words)) for word in value_words))
    if kind in _QUOTED_TYPES:
        wanted = [word for word in simplify(value).split() if len(word) > 1]
        if kind in ("email", "phone"):
            return "".join(simplify(value).split()) in "".join(said.split())
        return bool(wanted) and all(word in said_words for word in wanted)
    return True


def _is_amount_word(word: str, known: frozenset[str]) -> bool:
    """A number or time word, also in a spoken form that keeps its stem ("cinquentinha", "vintão")."""
    return word in known or any(len(name) >= 5 and word.startswith(name[:6]) for name in known)


def _mentions(option: Option, message: str) -> bool:
    """Whether the message names the option, allowing for typos ("fundadro", "gerentee")."""
    said = simplify(message)
    names = [*option.labels.values(), *(word for words in option.keywords.values() for word in words)]
    said_words = set(said.split())
    folded = [simplify(name) for name in names]
    # Short names ("vp", "ceo") only as whole words; longer ones also with a typo.
    return any(name in said_words or (len(name) > 3 and fuzz.partial_ratio(name, said) >= _TYPO_SCORE)
               for name in folded if name)


def _entry(entries: tuple[Entry, ...], topic: str) -> Entry | None:
    return next((entry for entry in entries if entry.id == topic), None)
