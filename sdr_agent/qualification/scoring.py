"""Lead score from the filled slots, and the final outcome once every question is answered."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .budgets import comparable_amount
from .flow_model import Flow, QuestionStage
from .refusals import NOT_GIVEN, UNPARSED

LOW_SCORE = "low_score"
UNCLEAR_ANSWERS = "unclear_answers"
HANDOFF = "handoff"


@dataclass(frozen=True)
class Outcome:
    """Where a finished lead ends up: "qualified" or "disqualified", and why."""

    stage: str
    reason: str | None


def score(flow: Flow, slots: Mapping[str, Any]) -> tuple[int, tuple[str, ...]]:
    """Total points and one human-readable reason per scoring slot, e.g. "budget >= 10000: +30"."""
    total = 0
    reasons: list[str] = []
    for stage in flow.stages:
        points, reason = _stage_points(stage, slots.get(stage.slot))
        if reason is not None:
            total += points
            reasons.append(f"{reason}: {points:+d}")
    return total, tuple(reasons)


def _stage_points(stage: QuestionStage, value: Any) -> tuple[int, str | None]:
    """The first matching rule wins; unknown or unverified answers score nothing."""
    if stage.type == "choice":
        option = stage.option(value)
        return (option.score, f"{stage.slot} = {option.id}") if option is not None and option.score else (0, None)
    number = comparable(stage, value)
    for rule in stage.score_rules:
        if rule.comparison.matches(number):
            return rule.points, f"{stage.slot} {rule.comparison.text}"
    return 0, None


def comparable(stage: QuestionStage, value: Any) -> Any:
    """The part of a slot value rules compare: a budget's lower end (per year), a timeframe's months, an option id."""
    if isinstance(value, Mapping):
        if stage.type == "money":
            return comparable_amount(value)
        if stage.type == "timeframe":
            return value.get("months")
        return None
    return value


def outcome(flow: Flow, slots: Mapping[str, Any], total: int) -> Outcome:
    """Disqualify rules first (in flow order), then the score threshold."""
    stages = {stage.slot: stage for stage in flow.stages}
    for rule in flow.disqualify:
        if rule.comparison.matches(comparable(stages[rule.slot], slots.get(rule.slot))):
            return Outcome("disqualified", rule.reason)
    if total >= flow.qualify_at:
        return Outcome("qualified", None)
    if total + _unread_points(flow, slots) >= flow.qualify_at:
        # Short of the threshold only because an answer could not be read: a person decides, not the bot.
        return Outcome(HANDOFF, UNCLEAR_ANSWERS)
    return Outcome("disqualified", LOW_SCORE)


def _unread_points(flow: Flow, slots: Mapping[str, Any]) -> int:
    """The most the answers that could not be read, or are not known yet, might have scored."""
    total = 0
    for stage in flow.stages:
        if not _unknown(slots.get(stage.slot)):
            continue
        points = [option.score for option in stage.options] + [rule.points for rule in stage.score_rules]
        total += max(points, default=0)
    return total


def _unknown(value: Any) -> bool:
    """An answer that says nothing either way: unreadable, or "não sei" about an amount or a date."""
    if not isinstance(value, Mapping):
        return False
    return value.get(NOT_GIVEN) == UNPARSED or bool(value.get("unknown")) or value.get("label") == "unknown"


def not_given_reason(value: Any) -> str | None:
    """Why a slot holds no answer ("declined", "unparsed"), or None for an answer."""
    return str(value[NOT_GIVEN]) if isinstance(value, Mapping) and NOT_GIVEN in value else None
