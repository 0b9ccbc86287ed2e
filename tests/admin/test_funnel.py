"""Funnel and daily numbers equal the counts known from the seeded conversations."""
from __future__ import annotations

import re
from datetime import datetime

from flask import Flask
from flask.testing import FlaskClient

from sdr_agent.admin.filters import Period
from sdr_agent.admin.funnel import daily_outcomes, funnel, funnel_steps
from tests.conftest import BACKEND_MATRIX, Clock

from .conftest import Send, play

STEPS = ["consent", "name", "company", "role", "need", "budget", "timeline", "email", "qualified"]

# phone -> (messages, seconds between them, furthest funnel step reached)
CONVERSATIONS = {
    "+5511900000001": ([
        "Oi, quero saber mais sobre o produto", "sim", "Meu nome é ana souza", "Trabalho na Acme Ltda", "1",
        "Queremos automatizar o atendimento no WhatsApp", "uns 50 mil", "mês que vem", "ana.souza@acme.com.br",
    ], 60, "qualified"),
    "+5511900000002": (["Oi, quero saber mais", "sim", "Bruno Lima"], 120, "company"),
    "+5511900000003": (["Boa tarde", "agora não"], 30, "consent"),  # declined
    "+5511900000004": (["Oi", "sim", "quero falar com um atendente"], 300, "name"),  # handed off at name
    "+5511900000005": (["Oi", "sim", "Sou a Carla da Initech, meu e-mail é carla@initech.com"], 600, "role"),  # skips company
    "+5511900000006": (["Oi", "parar"], 45, "consent"),  # opted out
}
# Seconds each lead spent in a step before its next stage change (only stays that ended).
STAYS = {
    "consent": [60, 120, 30, 300, 600],
    "name": [60, 120, 300, 600],
    "company": [60], "role": [60], "need": [60], "budget": [60], "timeline": [60], "email": [60],
}
DAY = Period(datetime(2026, 3, 2).date(), datetime(2026, 3, 2).date())


def seed(send: Send, clock: Clock) -> None:
    for phone, (texts, gap, _) in CONVERSATIONS.items():
        play(send, clock, phone, texts, gap)


def expected_entered(step: str) -> int:
    """Leads whose furthest step is this one or later."""
    index = STEPS.index(step)
    return sum(1 for _, _, furthest in CONVERSATIONS.values() if STEPS.index(furthest) >= index)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@BACKEND_MATRIX
def test_funnel_matches_the_seeded_conversations(app: Flask, send: Send, clock: Clock) -> None:
    seed(send, clock)
    flow_steps = funnel_steps([stage.id for stage in app.extensions["sdr_flow"].stages])
    assert flow_steps == STEPS
    with app.extensions["sdr_session_factory"]() as session:
        steps = funnel(session, flow_steps, DAY, None)
    for index, step in enumerate(steps):
        assert step.entered == expected_entered(step.stage), step
        if index + 1 < len(STEPS):
            assert step.reached_next == expected_entered(STEPS[index + 1]), step
        else:
            assert step.reached_next is None
        stays = STAYS.get(step.stage)
        assert step.median_seconds == (median(stays) if stays else None), step
    by_stage = {step.stage: step for step in steps}
    assert (by_stage["consent"].entered, by_stage["consent"].reached_next) == (6, 4)
    assert by_stage["consent"].drop_off_pct == 100 * 2 / 6
    assert by_stage["name"].median_seconds == 210.0


@BACKEND_MATRIX
def test_daily_outcomes_match_the_seeded_conversations(app: Flask, send: Send, clock: Clock) -> None:
    seed(send, clock)
    period = Period(datetime(2026, 3, 1).date(), datetime(2026, 3, 3).date())
    with app.extensions["sdr_session_factory"]() as session:
        days = daily_outcomes(session, period, None)
        voice_days = daily_outcomes(session, period, "voice")
    assert [(d.day.day, d.qualified, d.handed_off, d.booked, d.opted_out) for d in days] == [
        (1, 0, 0, 0, 0), (2, 1, 1, 0, 1), (3, 0, 0, 0, 0),
    ]
    assert all((d.qualified, d.handed_off, d.opted_out) == (0, 0, 0) for d in voice_days)


def test_funnel_respects_the_period_and_channel(app: Flask, send: Send, clock: Clock) -> None:
    seed(send, clock)
    day_before = Period(datetime(2026, 3, 1).date(), datetime(2026, 3, 1).date())
    with app.extensions["sdr_session_factory"]() as session:
        assert all(step.entered == 0 for step in funnel(session, STEPS, day_before, None))
        assert all(step.entered == 0 for step in funnel(session, STEPS, DAY, "voice"))
        assert funnel(session, STEPS, DAY, "whatsapp")[0].entered == 6


def test_overview_page_shows_the_funnel(app: Flask, operator: FlaskClient, send: Send, clock: Clock) -> None:
    seed(send, clock)
    html = operator.get("/admin?from=2026-03-02&to=2026-03-02&channel=whatsapp").get_data(as_text=True)
    assert '<svg id="funnel-chart"' in html
    entered = dict(re.findall(r'<tr data-stage="(\w+)">\s*<td>\w+</td>\s*<td class="num entered">(\d+)</td>', html))
    assert entered == {stage: str(expected_entered(stage)) for stage in STEPS}
    assert "33.3%" in html  # consent: 2 of 6 never reached the name question
    assert "3m 30s" in html  # median time at the name question


def test_overview_needs_a_fixed_number_of_queries(app: Flask, send: Send, clock: Clock) -> None:
    """No per-lead loop: 1 lead or 6 leads, the same statements run."""
    from sqlalchemy import event

    def statements_for_overview() -> int:
        executed: list[str] = []
        engine = app.extensions["sdr_session_factory"].kw["bind"]
        listener = lambda *args: executed.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            with app.extensions["sdr_session_factory"]() as session:
                funnel(session, STEPS, DAY, None)
                daily_outcomes(session, DAY, None)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len([sql for sql in executed if sql.lstrip().upper().startswith("SELECT")])

    play(send, clock, "+5511900000009", ["Oi", "sim"], 10)
    few = statements_for_overview()
    seed(send, clock)
    assert statements_for_overview() == few == 4
