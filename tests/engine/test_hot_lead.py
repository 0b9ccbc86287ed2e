"""A hot lead (score at the flow's hand_off_at) goes straight to a person."""
from __future__ import annotations

from pathlib import Path

import pytest

from sdr_agent.qualification import EventKind, Flow, FlowError, default_flow_path, load_flow

from .support import Lead

DEFAULT_TEXT = default_flow_path().read_text(encoding="utf-8")


def flow_with(tmp_path: Path, line: str) -> Flow:
    path = tmp_path / "hot.yaml"
    path.write_text(DEFAULT_TEXT.replace("  # hand_off_at: 70 ", f"  {line} #"), encoding="utf-8")
    return load_flow(path)


def test_a_lead_whose_score_reaches_the_threshold_is_handed_off(tmp_path: Path) -> None:
    flow = flow_with(tmp_path, "hand_off_at: 45")
    lead = Lead(flow)
    for text in ("oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar a qualificação"):
        lead.says(text)
    assert lead.state.score == 20
    lead.says("50 mil")  # +30: 50 points, over the threshold
    handoffs = [event for event in lead.result.events if event.kind is EventKind.HANDOFF_REQUESTED]
    assert [event.data["reason"] for event in handoffs] == ["hot_lead"]
    assert (lead.state.stage, lead.state.handed_off) == ("handoff", True)
    assert lead.result.replies == (flow.text("handoff", "pt-BR"),)
    # A person has it now: the bot only says so.
    assert lead.says("e agora?").replies == (flow.text("handoff_waiting", "pt-BR"),)
    assert lead.says("oi?").replies == ()


def test_below_the_threshold_the_flow_goes_on(tmp_path: Path) -> None:
    lead = Lead(flow_with(tmp_path, "hand_off_at: 51"))
    for text in ("oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar a qualificação", "50 mil"):
        lead.says(text)
    assert lead.state.stage == "timeline"


def test_the_shipped_flow_has_no_threshold() -> None:
    assert load_flow(default_flow_path()).hand_off_at is None


def test_a_threshold_must_be_a_number(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match="outcome.hand_off_at must be a number"):
        flow_with(tmp_path, "hand_off_at: lots")
