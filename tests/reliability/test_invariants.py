"""The invariant checker itself: it must flag every kind of damage the chaos scenarios look for."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from sdr_agent.qualification import Flow, default_flow_path, load_flow
from tests.reliability.harness import LoadDriver, audit, build_plan, path_violations, require_services, running_service
from tests.reliability.harness import script_path

ALL_SLOTS = {slot: "x" for slot in ("consent", "name", "company", "role", "need", "budget", "timeline", "email")}


@pytest.fixture(scope="module")
def flow() -> Flow:
    """The shipped flow."""
    return load_flow(default_flow_path())


def test_the_scripted_walk_is_a_valid_path(flow: Flow) -> None:
    path = script_path(flow)
    assert path[0] == ("new", "consent") and path[-1] == ("email", "qualified")
    assert path_violations(flow, path, ALL_SLOTS, "qualified") == []


def test_a_jump_is_valid_only_over_answered_questions(flow: Flow) -> None:
    jump = [("new", "consent"), ("consent", "company")]
    assert path_violations(flow, jump, {"consent": True, "name": "Ana"}, "company") == []
    assert path_violations(flow, jump, {"consent": True}, "company") == ["consent->company skips unanswered name"]


def test_handoff_and_declined_may_end_the_flow_from_any_question(flow: Flow) -> None:
    assert path_violations(flow, [("new", "consent"), ("consent", "handoff")], {}, "handoff") == []
    assert path_violations(flow, [("new", "consent"), ("consent", "declined")], {}, "declined") == []


@pytest.mark.parametrize(("events", "stage", "problem"), [
    ([("new", "consent"), ("name", "company")], "company", "does not start where the last change ended (consent)"),
    ([("new", "consent"), ("consent", "name"), ("name", "consent")], "consent", "goes backwards"),
    ([("new", "consent"), ("consent", "consent")], "consent", "consent entered twice"),
    ([("new", "consent")], "name", "lead is at name but its last stage change went to consent"),
    ([("new", "nowhere")], "nowhere", "nowhere is no stage of the flow"),
])
def test_broken_histories_are_named(flow: Flow, events: list[tuple[str, str]], stage: str, problem: str) -> None:
    assert any(problem in found for found in path_violations(flow, events, ALL_SLOTS, stage))


@pytest.mark.slow
def test_the_audit_catches_a_lost_message_a_second_reply_and_a_broken_history(tmp_path: Path) -> None:
    require_services()
    plan = build_plan(leads=12, duplicates=12, burst_share=0.25, seed=5, run=9)
    with running_service(tmp_path, workers=2, threads=4) as service:
        result = LoadDriver(service.url, plan, connections=8).run(timeout_s=120)
        assert audit(service.database_url, plan, result).violations == []
        engine = create_engine(service.database_url)
        with engine.begin() as connection:
            lead_id, sid = connection.execute(text(
                "SELECT lead_id, provider_sid FROM messages WHERE direction = 'inbound' ORDER BY id DESC LIMIT 1")).one()
            connection.execute(text("DELETE FROM messages WHERE provider_sid = :sid"), {"sid": sid})
            connection.execute(text(
                "INSERT INTO messages (lead_id, thread_id, direction, channel, text, status, created_at) "
                "SELECT lead_id, thread_id, 'outbound', channel, 'again', 'replied', created_at FROM messages "
                "WHERE direction = 'inbound' ORDER BY id LIMIT 1"))
            connection.execute(text(
                "DELETE FROM stage_events WHERE id = (SELECT min(id) FROM stage_events WHERE to_stage = 'company')"))
        engine.dispose()
        report = audit(service.database_url, plan, result)
    found = "\n".join(report.violations)
    assert "acked but not stored (lost): 1" in found
    assert "outbound rows that do not match the stored replies" in found
    assert "stage histories that are no valid path" in found
