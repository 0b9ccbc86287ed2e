"""Operator actions: hand off, release to the bot, reset thread, erase."""
from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from sdr_agent.simulator import reply_texts
from tests.conftest import BACKEND_MATRIX, Clock
from tests.dbcheck import ConversationThread, Lead, Message, StageEvent, count, lead_by_phone, rows

from .conftest import Send, csrf_token, play

PHONE = "+5511933333333"


def act(client: FlaskClient, lead_id: int, action: str, **form: str) -> None:
    token = csrf_token(client, f"/admin/leads/{lead_id}")
    response = client.post(f"/admin/leads/{lead_id}/{action}", data={"csrf_token": token, **form})
    assert response.status_code == 303, response.get_data(as_text=True)


def replies(send: Send, text: str) -> list[str]:
    return reply_texts(send(PHONE, text).get_data(as_text=True))


@BACKEND_MATRIX
def test_hand_off_silences_the_bot_and_release_gives_the_lead_back(app: Flask, operator: FlaskClient, send: Send, clock: Clock) -> None:
    play(send, clock, PHONE, ["Oi", "sim"], 60)
    lead = lead_by_phone(app, PHONE)
    act(operator, lead.id, "hand_off")
    lead = lead_by_phone(app, PHONE)
    assert (lead.stage, lead.handed_off, lead.state["stage"], lead.state["handed_off"]) == ("handoff", True, "handoff", True)
    assert rows(app, StageEvent)[-1].to_stage == "handoff"
    assert replies(send, "Ana Souza") == []  # a person is talking to the lead now

    act(operator, lead.id, "release")
    lead = lead_by_phone(app, PHONE)
    assert (lead.stage, lead.handed_off, lead.state["stage"]) == ("name", False, "name")
    events = rows(app, StageEvent)
    assert (events[-1].from_stage, events[-1].to_stage) == ("handoff", "name")
    assert any("empresa" in text for text in replies(send, "Ana Souza"))  # the bot carries on
    assert "Lead released" in operator.get(f"/admin/leads/{lead.id}").get_data(as_text=True)


def test_release_of_a_lead_that_asked_for_a_person_at_once_restarts_the_flow(app: Flask, operator: FlaskClient, send: Send, clock: Clock) -> None:
    play(send, clock, PHONE, ["quero falar com um atendente"], 60)
    lead = lead_by_phone(app, PHONE)
    assert lead.stage == "handoff"
    act(operator, lead.id, "release")
    assert lead_by_phone(app, PHONE).stage == "new"
    assert any("(sim/não)" in text for text in replies(send, "Oi"))


@BACKEND_MATRIX
def test_reset_thread_ends_the_thread_and_starts_over(app: Flask, operator: FlaskClient, send: Send, clock: Clock) -> None:
    play(send, clock, PHONE, ["Oi", "sim", "Ana Souza"], 60)
    lead = lead_by_phone(app, PHONE)
    act(operator, lead.id, "reset_thread")
    lead = lead_by_phone(app, PHONE)
    (thread,) = rows(app, ConversationThread)
    assert (thread.end_reason, thread.ended_at is not None) == ("operator_reset", True)
    assert (lead.current_thread_id, lead.stage, lead.name, lead.score, lead.state["slots"]) == (None, "new", None, 0, {})

    assert any("(sim/não)" in text for text in replies(send, "Oi de novo"))  # greeted as new
    first, second = rows(app, ConversationThread)
    assert second.ended_at is None and lead_by_phone(app, PHONE).current_thread_id == second.id
    assert rows(app, Message)[-1].thread_id == second.id


def test_reset_keeps_an_opt_out(app: Flask, operator: FlaskClient, send: Send, clock: Clock) -> None:
    play(send, clock, PHONE, ["Oi", "parar"], 60)
    act(operator, lead_by_phone(app, PHONE).id, "reset_thread")
    assert lead_by_phone(app, PHONE).opted_out is True
    assert replies(send, "Oi") == []


@BACKEND_MATRIX
def test_erase_needs_confirmation_then_removes_the_leads_data(app: Flask, operator: FlaskClient, send: Send, clock: Clock) -> None:
    play(send, clock, PHONE, ["Oi", "sim", "Ana Souza"], 60)
    play(send, clock, "+5511944444444", ["Oi"], 60)
    lead_id = lead_by_phone(app, PHONE).id
    act(operator, lead_id, "erase")  # no confirmation typed
    assert count(app, Lead, id=lead_id) == 1 and count(app, Message, lead_id=lead_id) == 6

    events_before = count(app, StageEvent, lead_id=lead_id)
    act(operator, lead_id, "erase", confirm="erase")
    assert count(app, Message, lead_id=lead_id) == 0
    # Anonymous and kept, so past funnels do not change.
    assert count(app, StageEvent, lead_id=lead_id) == events_before
    assert count(app, ConversationThread, lead_id=lead_id) >= 1
    assert count(app, Lead, id=lead_id, phone=None, name=None) == 1
    assert count(app, Message) == 2  # the other lead is untouched
    assert operator.get(f"/admin/leads/{lead_id}").status_code == 404
    token = csrf_token(operator, "/admin")
    assert operator.post(f"/admin/leads/{lead_id}/hand_off", data={"csrf_token": token}).status_code == 404

    assert any("(sim/não)" in text for text in replies(send, "Oi"))  # writing again starts a new lead


def test_unknown_action_is_404(app: Flask, operator: FlaskClient, send: Send, clock: Clock) -> None:
    play(send, clock, PHONE, ["Oi"], 60)
    token = csrf_token(operator, "/admin")
    assert operator.post("/admin/leads/1/delete_everything", data={"csrf_token": token}).status_code == 404
