"""Validate a parsed flow file and build the Flow; every problem names its stage and line."""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

from .flow_model import PLACEHOLDER, DisqualifyRule, Flow, FlowError, Option, QuestionStage, ScoreRule
from .located_yaml import LocatedDict
from .rules import parse_comparison
from .types import STAGE_NEW, TERMINAL_STAGES
from .validators import NUMERIC_TYPES, SLOT_TYPES
from .validators.free_text import DEFAULT_MIN_LENGTH
from .validators.money import CURRENCIES, default_currency

GLOBAL_TEXT_KEYS = (
    "help", "handoff", "opted_out", "opted_in", "restart", "qualified", "disqualified", "declined", "done",
    "media_only", "welcome_back", "retry_limit_skip", "error",
    # Calls
    "confirm", "email_by_whatsapp", "deferred_lead_in", "welcome_back_call", "opted_out_call", "no_input",
    "call_goodbye", "unknown_caller",
)
# Texts a flow may leave out: the engine falls back (or stays silent) without them.
OPTIONAL_TEXT_KEYS = (
    "follow_up", "rate_limited", "understood", "handoff_waiting", "opt_out_undone", "closed_for_review",
    "close_objection", "email_write_on_whatsapp",
)
VOICE_KEY = "voice"  # a text's optional version written for calls
# Placeholders the engine fills in some texts, besides slots.
TEXT_PLACEHOLDERS = {"confirm": frozenset({"heard"}), "welcome_back_call": frozenset({"topic"}),
                     "understood": frozenset({"facts"})}
ON_RETRY_LIMIT = ("skip", "handoff")
ON_REFUSAL = ("skip", "ask_again")  # a lead who declines: leave it blank, or ask once more first
DEFAULT_RETRY_LIMIT = 2

_TOP_KEYS = {"flow", "version", "languages", "retry_limit", "stages", "outcome", "texts"}
_STAGE_KEYS = {"id", "slot", "type", "ask", "retry", "topic", "voice", "on_retry_limit", "on_refusal"}
_VOICE_KEYS = {"ask", "retry", "defer_to_whatsapp"}
# Keys that only make sense for one kind of question.
_TYPED_KEYS = {"options": {"choice"}, "min_length": {"free_text"}, "currency": {"money"}, "score": NUMERIC_TYPES}
_OPTION_KEYS = {"id", "label", "keywords", "score"}
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
_OPTION_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")
_RESERVED_STAGE_IDS = {STAGE_NEW, *TERMINAL_STAGES}


class _Checker:
    """Builds FlowErrors in one format: `file: stage 'id': reason (line N)`."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.stage: str | None = None
        self.languages: tuple[str, ...] = ()
        self.slots: frozenset[str] = frozenset()

    def error(self, reason: str, where: Any = None, key: Any = None) -> FlowError:
        line = where.line_of(key) if isinstance(where, LocatedDict) else None
        stage = f"stage '{self.stage}': " if self.stage else ""
        return FlowError(f"{self.file_name}: {stage}{reason}" + (f" (line {line})" if line else ""))

    def mapping(self, parent: LocatedDict, key: str, what: str) -> LocatedDict:
        value = parent.get(key)
        if not isinstance(value, LocatedDict):
            raise self.error(f"{what} must be a mapping", parent, key)
        return value

    def known_keys(self, mapping: LocatedDict, allowed: Iterable[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                raise self.error(f"unknown key {key!r} in {what}", mapping, key)

    def identifier(self, parent: LocatedDict, key: str, what: str, pattern: re.Pattern[str] = _IDENTIFIER) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            found = "missing" if value is None else repr(value)
            raise self.error(f"{what} must be lower-case letters, digits and '_' (got {found})", parent, key)
        return value

    def integer(self, parent: LocatedDict, key: str, default: int | None, minimum: int) -> int:
        value = parent.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            found = "missing" if value is None else repr(value)
            raise self.error(f"{key} must be a whole number >= {minimum} (got {found})", parent, key)
        return value

    def texts(
        self,
        parent: LocatedDict,
        key: str,
        what: str,
        placeholders: frozenset[str] = frozenset(),
        allow_voice: bool = False,
    ) -> dict[str, str]:
        """One non-empty text per flow language, using only {slot} and the given placeholders."""
        texts = parent.get(key)
        if not isinstance(texts, LocatedDict):
            found = "missing" if texts is None else "not a mapping of language -> text"
            raise self.error(f"{what} is {found}", parent, key)
        for language in texts:
            if language == VOICE_KEY and allow_voice:
                continue
            if language not in self.languages:
                raise self.error(f"{what} has language {language!r}, which is not in languages", texts, language)
        for language in self.languages:
            text = texts.get(language)
            if text is None:
                raise self.error(f"{what} in {language!r} is missing", parent, key)
            if not isinstance(text, str) or not text.strip():
                raise self.error(f"{what} in {language!r} is not text ({text!r}; quote it)", texts, language)
            for placeholder in PLACEHOLDER.findall(text):
                if placeholder not in self.slots | placeholders:
                    raise self.error(f"{what} in {language!r} uses unknown placeholder {{{placeholder}}}", texts, language)
        return {language: texts[language].strip() for language in self.languages}


def _hand_off_at(check: _Checker, outcome: LocatedDict) -> float | None:
    """Optional: a score at which the lead goes straight to a person (a hot lead)."""
    value = outcome.get("hand_off_at")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise check.error(f"outcome.hand_off_at must be a number (got {value!r})", outcome, "hand_off_at")
    return float(value)


def build_flow(document: Any, file_name: str) -> Flow:
    """The Flow described by a parsed flow file; raises FlowError on the first problem."""
    check = _Checker(file_name)
    if not isinstance(document, LocatedDict):
        raise check.error("the file must be a YAML mapping with flow, version, languages, stages, outcome and texts")
    check.known_keys(document, _TOP_KEYS, "the top level")
    name = document.get("flow")
    if not isinstance(name, str) or not name.strip():
        raise check.error("flow must be a non-empty name", document, "flow")
    version = check.integer(document, "version", None, 1)
    check.languages = _languages(check, document)
    stage_nodes = document.get("stages")
    if not isinstance(stage_nodes, list) or not stage_nodes:
        raise check.error("stages must be a non-empty list", document, "stages")
    check.slots = frozenset(_declared_slots(stage_nodes))
    stages = tuple(_stage(check, node, index) for index, node in enumerate(stage_nodes))
    _check_unique(check, stage_nodes, stages)
    check.stage = None
    outcome = check.mapping(document, "outcome", "outcome")
    check.known_keys(outcome, {"qualify_at", "disqualify", "hand_off_at"}, "outcome")
    qualify_at = outcome.get("qualify_at")
    if isinstance(qualify_at, bool) or not isinstance(qualify_at, (int, float)):
        raise check.error(f"outcome.qualify_at must be a number (got {qualify_at!r})", outcome, "qualify_at")
    texts_node = check.mapping(document, "texts", "texts")
    for key in GLOBAL_TEXT_KEYS:
        if key not in texts_node:
            raise check.error(f"texts is missing {key!r}", document, "texts")
    for key in texts_node:
        if not isinstance(key, str) or not _IDENTIFIER.match(key):
            raise check.error(f"text name {key!r} must be lower-case letters, digits and '_'", texts_node, key)
    return Flow(
        name=name.strip(),
        version=version,
        languages=check.languages,
        stages=stages,
        texts={
            key: check.texts(texts_node, key, f"text {key!r}", TEXT_PLACEHOLDERS.get(key, frozenset()), True)
            for key in texts_node
        },
        voice_texts={
            key: check.texts(texts_node[key], VOICE_KEY, f"text {key!r} voice", TEXT_PLACEHOLDERS.get(key, frozenset()))
            for key in texts_node
            if isinstance(texts_node[key], LocatedDict) and VOICE_KEY in texts_node[key]
        },
        qualify_at=float(qualify_at),
        hand_off_at=_hand_off_at(check, outcome),
        disqualify=_disqualify_rules(check, outcome, stages),
        retry_limit=check.integer(document, "retry_limit", DEFAULT_RETRY_LIMIT, 1),
    )


def _languages(check: _Checker, document: LocatedDict) -> tuple[str, ...]:
    languages = document.get("languages")
    if not isinstance(languages, list) or not languages:
        raise check.error("languages must be a non-empty list such as [pt-BR, en]", document, "languages")
    for language in languages:
        if not isinstance(language, str) or not _LANGUAGE_TAG.match(language):
            raise check.error(f"{language!r} is not a language tag such as pt-BR or en", document, "languages")
    if len(set(languages)) != len(languages):
        raise check.error("languages lists a language twice", document, "languages")
    return tuple(languages)


def _declared_slots(stage_nodes: list[Any]) -> Iterable[str]:
    """Slot names as written, before validation, so texts can be checked for placeholders."""
    for node in stage_nodes:
        if isinstance(node, Mapping):
            slot = node.get("slot", node.get("id"))
            if isinstance(slot, str):
                yield slot


def _stage(check: _Checker, node: Any, index: int) -> QuestionStage:
    check.stage = None
    if not isinstance(node, LocatedDict):
        raise check.error(f"stage #{index + 1} must be a mapping with id, type, ask and retry")
    stage_id = check.identifier(node, "id", f"stage #{index + 1} id")
    check.stage = stage_id
    if stage_id in _RESERVED_STAGE_IDS:
        raise check.error(f"stage id {stage_id!r} is reserved for the engine", node, "id")
    kind = node.get("type")
    if kind not in SLOT_TYPES:
        raise check.error(f"unknown type {kind!r}; use one of {', '.join(SLOT_TYPES)}", node, "type")
    check.known_keys(node, _STAGE_KEYS | _TYPED_KEYS.keys(), "the stage")
    for key, kinds in _TYPED_KEYS.items():
        if key in node and kind not in kinds:
            raise check.error(f"{key!r} only applies to {' or '.join(sorted(kinds))} stages", node, key)
    if kind == "consent" and index != 0:
        raise check.error("a consent stage must be the first stage", node, "type")
    on_retry_limit = node.get("on_retry_limit", "skip")
    if on_retry_limit not in ON_RETRY_LIMIT:
        choices = ", ".join(ON_RETRY_LIMIT)
        raise check.error(f"on_retry_limit must be one of {choices} (got {on_retry_limit!r})", node, "on_retry_limit")
    on_refusal = node.get("on_refusal", "skip")
    if on_refusal not in ON_REFUSAL:
        raise check.error(f"on_refusal must be one of {', '.join(ON_REFUSAL)} (got {on_refusal!r})", node, "on_refusal")
    return QuestionStage(
        id=stage_id,
        slot=check.identifier(node, "slot", "slot") if "slot" in node else stage_id,
        type=kind,
        asks=check.texts(node, "ask", "ask"),
        retries=check.texts(node, "retry", "retry"),
        topics=check.texts(node, "topic", "topic"),
        voice=_voice(check, node),
        defer_to_whatsapp=_defer_to_whatsapp(check, node, kind),
        on_retry_limit=on_retry_limit,
        on_refusal=on_refusal,
        options=_options(check, node) if kind == "choice" else (),
        min_length=check.integer(node, "min_length", DEFAULT_MIN_LENGTH, 1),
        currencies=_currencies(check, node) if kind == "money" else {},
        score_rules=_score_rules(check, node),
    )


def _voice(check: _Checker, node: LocatedDict) -> dict[str, dict[str, str]]:
    """The texts written for calls."""
    if "voice" not in node:
        return {}
    voice = check.mapping(node, "voice", "voice")
    check.known_keys(voice, _VOICE_KEYS, "voice")
    return {key: check.texts(voice, key, f"voice {key}") for key in ("ask", "retry") if key in voice}


def _defer_to_whatsapp(check: _Checker, node: LocatedDict, kind: str) -> bool:
    """Whether calls leave this question to be answered on WhatsApp."""
    voice = node.get("voice")
    if not isinstance(voice, LocatedDict) or "defer_to_whatsapp" not in voice:
        return False
    defer = voice["defer_to_whatsapp"]
    if not isinstance(defer, bool):
        raise check.error(f"voice.defer_to_whatsapp must be true or false (got {defer!r})", voice, "defer_to_whatsapp")
    if defer and kind == "consent":
        raise check.error("voice.defer_to_whatsapp cannot be set on a consent stage", voice, "defer_to_whatsapp")
    return defer


def _options(check: _Checker, node: LocatedDict) -> tuple[Option, ...]:
    nodes = node.get("options")
    if not isinstance(nodes, list) or len(nodes) < 2:
        raise check.error("a choice needs options: a list of at least two", node, "options")
    options = []
    for number, option_node in enumerate(nodes, 1):
        if not isinstance(option_node, LocatedDict):
            raise check.error(f"option #{number} must be a mapping with id and label", node, "options")
        check.known_keys(option_node, _OPTION_KEYS, f"option #{number}")
        option_id = check.identifier(option_node, "id", f"option #{number} id", _OPTION_ID)
        score = option_node.get("score", 0)
        if isinstance(score, bool) or not isinstance(score, int):
            raise check.error(f"option {option_id!r} score must be a whole number", option_node, "score")
        options.append(Option(option_id, check.texts(option_node, "label", f"option {option_id!r} label"),
                              _keywords(check, option_node, option_id), score))
    ids = [option.id for option in options]
    if len(set(ids)) != len(ids):
        raise check.error("option ids must be unique", node, "options")
    return tuple(options)


def _keywords(check: _Checker, option_node: LocatedDict, option_id: str) -> dict[str, tuple[str, ...]]:
    if "keywords" not in option_node:
        return {}
    keywords = check.mapping(option_node, "keywords", f"option {option_id!r} keywords")
    result = {}
    for language, words in keywords.items():
        what = f"option {option_id!r} keywords"
        if language not in check.languages:
            raise check.error(f"{what} has language {language!r}, which is not in languages", keywords, language)
        if not isinstance(words, list) or not all(isinstance(word, str) and word.strip() for word in words):
            raise check.error(f"{what} in {language!r} must be a list of words (quote yes/no)", keywords, language)
        result[language] = tuple(word.strip() for word in words)
    return result


def _currencies(check: _Checker, node: LocatedDict) -> dict[str, str]:
    if "currency" not in node:
        return {language: default_currency(language) for language in check.languages}
    currencies = check.mapping(node, "currency", "currency (language -> BRL/USD/EUR/GBP)")
    for language in check.languages:
        if currencies.get(language) not in CURRENCIES:
            raise check.error(f"currency for {language!r} must be one of {', '.join(CURRENCIES)}", currencies, language)
    return {language: currencies[language] for language in check.languages}


def _score_rules(check: _Checker, node: LocatedDict) -> tuple[ScoreRule, ...]:
    if "score" not in node:
        return ()
    rules = check.mapping(node, "score", "score (rule -> points)")
    result = []
    for rule, points in rules.items():
        try:
            comparison = parse_comparison(rule, numeric=True)
        except ValueError as exc:
            raise check.error(str(exc), rules, rule) from None
        if isinstance(points, bool) or not isinstance(points, int):
            raise check.error(f"score for {rule!r} must be a whole number of points", rules, rule)
        result.append(ScoreRule(comparison, points))
    return tuple(result)


def _check_unique(check: _Checker, nodes: list[Any], stages: tuple[QuestionStage, ...]) -> None:
    seen_ids: set[str] = set()
    seen_slots: set[str] = set()
    for node, stage in zip(nodes, stages):
        check.stage = stage.id
        if stage.id in seen_ids:
            raise check.error(f"stage id {stage.id!r} is used twice", node, "id")
        if stage.slot in seen_slots:
            raise check.error(f"slot {stage.slot!r} is filled by two stages", node, "slot" if "slot" in node else "id")
        seen_ids.add(stage.id)
        seen_slots.add(stage.slot)


def _disqualify_rules(
    check: _Checker, outcome: LocatedDict, stages: tuple[QuestionStage, ...]
) -> tuple[DisqualifyRule, ...]:
    nodes = outcome.get("disqualify", [])
    if not isinstance(nodes, list):
        raise check.error("outcome.disqualify must be a list of {slot, rule, reason}", outcome, "disqualify")
    by_slot = {stage.slot: stage for stage in stages}
    rules = []
    for number, node in enumerate(nodes, 1):
        what = f"disqualify rule #{number}"
        if not isinstance(node, LocatedDict):
            raise check.error(f"{what} must be a mapping with slot, rule and reason", outcome, "disqualify")
        check.known_keys(node, {"slot", "rule", "reason"}, what)
        slot = node.get("slot")
        stage = by_slot.get(slot) if isinstance(slot, str) else None
        if stage is None:
            raise check.error(f"{what} refers to unknown slot {slot!r}", node, "slot")
        if stage.type not in NUMERIC_TYPES | {"choice"}:
            reason = f"slot {stage.slot!r} is {stage.type}; rules need money, timeframe or choice"
            raise check.error(f"{what}: {reason}", node, "slot")
        try:
            comparison = parse_comparison(node.get("rule"), numeric=stage.type != "choice")
        except ValueError as exc:
            raise check.error(f"{what}: {exc}", node, "rule") from None
        if stage.type == "choice" and stage.option(comparison.operand) is None:
            raise check.error(f"{what}: {stage.slot!r} has no option {comparison.operand!r}", node, "rule")
        reason = check.identifier(node, "reason", f"{what} reason")
        rules.append(DisqualifyRule(stage.slot, comparison, reason))
    return tuple(rules)
