"""Funnel and daily outcome numbers, aggregated in SQL over `stage_events`.

A lead "entered" a funnel step when, within the period, it reached that step or any later
one: leads that volunteer several answers at once skip questions, and they still passed
through them. Every query here is a fixed number of GROUP BYs, whatever the number of leads.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Sequence

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import ColumnElement

from ..models import Lead, StageEvent
from .filters import Period, talked_on
from .sql import utc_day

QUALIFIED = "qualified"
DAILY_STAGES = {"qualified": "qualified", "handoff": "handed_off", "booked": "booked"}
DAILY_COLUMNS = ("qualified", "handed_off", "booked", "opted_out")


@dataclass(frozen=True)
class FunnelStep:
    """One step of the funnel."""

    stage: str
    entered: int
    reached_next: int | None  # None for the last step
    median_seconds: float | None  # completed stays only; None when nobody left the step yet

    @property
    def drop_off_pct(self) -> float | None:
        """Share of the leads entering this step that never reached the next one."""
        if self.reached_next is None or self.entered == 0:
            return None
        return 100.0 * (self.entered - self.reached_next) / self.entered


@dataclass(frozen=True)
class DailyOutcomes:
    """Outcome counts for one UTC day."""

    day: date
    qualified: int = 0
    handed_off: int = 0
    booked: int = 0
    opted_out: int = 0


def funnel_steps(question_stages: Sequence[str]) -> list[str]:
    """The funnel's steps: the flow's questions in order, then qualified."""
    return [*question_stages, QUALIFIED]


def funnel(session: Session, steps: Sequence[str], period: Period, channel: str | None) -> list[FunnelStep]:
    """Entered / reached next / median time for each step, for events in the period."""
    reached = _reached_counts(session, steps, period, channel)
    medians = _median_seconds(session, steps, period, channel)
    result = []
    for index, stage in enumerate(steps):
        entered = sum(count for furthest, count in reached.items() if furthest >= index)
        reached_next = None
        if index + 1 < len(steps):
            reached_next = sum(count for furthest, count in reached.items() if furthest >= index + 1)
        result.append(FunnelStep(stage, entered, reached_next, medians.get(stage)))
    return result


def daily_outcomes(session: Session, period: Period, channel: str | None) -> list[DailyOutcomes]:
    """Qualified / handed-off / booked / opted-out leads per day of the period."""
    counts: dict[date, dict[str, int]] = defaultdict(dict)
    day = utc_day(StageEvent.at).label("day")
    query = (
        select(day, StageEvent.to_stage, func.count(func.distinct(StageEvent.lead_id)))
        .where(StageEvent.to_stage.in_(DAILY_STAGES), *_event_window(period, channel))
        .group_by(day, StageEvent.to_stage)
    )
    for day_text, stage, count in session.execute(query):
        counts[date.fromisoformat(day_text)][DAILY_STAGES[stage]] = count
    # An opt-out is a flag, not a stage change: a lead counts on the day of its last
    # inbound message, which is the opt-out itself unless the lead wrote again later.
    opt_day = utc_day(Lead.last_inbound_at).label("day")
    opt_query = select(opt_day, func.count()).where(
        Lead.opted_out.is_(True), Lead.last_inbound_at >= period.start, Lead.last_inbound_at < period.end
    )
    if channel:
        opt_query = opt_query.where(talked_on(channel))
    for day_text, count in session.execute(opt_query.group_by(opt_day)):
        counts[date.fromisoformat(day_text)]["opted_out"] = count
    return [DailyOutcomes(day, **counts.get(day, {})) for day in period.days()]


def _reached_counts(session: Session, steps: Sequence[str], period: Period, channel: str | None) -> dict[int, int]:
    """How many leads got at most to each step index (furthest step -> leads)."""
    rank = case({stage: index for index, stage in enumerate(steps)}, value=StageEvent.to_stage)
    per_lead = (
        select(func.max(rank).label("furthest"))
        .where(StageEvent.to_stage.in_(steps), *_event_window(period, channel))
        .group_by(StageEvent.lead_id)
        .subquery()
    )
    query = select(per_lead.c.furthest, func.count()).group_by(per_lead.c.furthest)
    return {int(furthest): count for furthest, count in session.execute(query)}


def _median_seconds(session: Session, steps: Sequence[str], period: Period, channel: str | None) -> dict[str, float]:
    """Median seconds leads spent at each step, over the stays that ended in the period.

    Each stage event carries the length of the stay it ends (`stay_seconds`, written with the
    event), so this reads one covering index of the period's events and runs no window over them.
    """
    conditions = [StageEvent.from_stage.in_(steps), StageEvent.stay_seconds.is_not(None),
                  *_event_window(period, channel)]
    if session.get_bind().dialect.name == "postgresql":
        median = func.percentile_cont(0.5).within_group(StageEvent.stay_seconds)
        query = select(StageEvent.from_stage, median).where(*conditions).group_by(StageEvent.from_stage)
    else:
        # SQLite has no percentile_cont: the middle row (odd count) or the mean of the two middle rows.
        ranked = select(
            StageEvent.from_stage.label("stage"),
            StageEvent.stay_seconds.label("seconds"),
            func.row_number().over(partition_by=StageEvent.from_stage, order_by=StageEvent.stay_seconds)
            .label("position"),
            func.count().over(partition_by=StageEvent.from_stage).label("total"),
        ).where(*conditions).subquery()
        double = ranked.c.position * 2
        middle = or_(double == ranked.c.total, double == ranked.c.total + 1, double == ranked.c.total + 2)
        query = select(ranked.c.stage, func.avg(ranked.c.seconds)).where(middle).group_by(ranked.c.stage)
    # Rounded: SQLite's julianday() arithmetic is only accurate to about a millisecond.
    return {stage: round(float(seconds), 1) for stage, seconds in session.execute(query)}


def _event_window(period: Period, channel: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [and_(StageEvent.at >= period.start, StageEvent.at < period.end)]
    if channel:
        conditions.append(StageEvent.channel == channel)
    return conditions
