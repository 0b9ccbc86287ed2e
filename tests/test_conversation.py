"""Threads and failures: idle resets keep facts, restarts start fresh, errors never reach Twilio."""
from __future__ import annotations

from typing import Callable

import pytest
from flask import Flask
from werkzeug.test import TestResponse

import sdr_agent.conversation
from sdr_agent import create_app
from sdr_agent.simulator import new_message_sid, reply_texts, whatsapp_form
from tests.conftest import BACKEND_MATRIX, Clock, base_config, signed_post
from tests.dbcheck import ConversationThread, Message, count, lead_by_phone, rows

PHONE = "+5511944440000"
Send = Callable[..., TestResponse]


def texts(response: TestResponse) -> str:
    assert response.status_code == 200
    return "\n".join(reply_texts(response.get_data(as_text=True)))


def test_idle_lead_gets_a_new_thread_and_keeps_known_facts(app: Flask, send: Send, clock: Clock) -> None:
    send(PHONE, "Oi")
    send(PHONE, "sim")
    send(PHONE, "Ana Souza")
    assert lead_by_phone(app, PHONE).name == "Ana Souza"

    clock.advance(hours=25)
    reply = texts(send(PHONE, "oi, voltei"))

    threads = rows(app, ConversationThread)
    assert [(t.end_reason, t.ended_at is not None) for t in threads] == [("idle_timeout", True), (None, False)]
    lead = lead_by_phone(app, PHONE)
    assert lead.current_thread_id == threads[1].id
    assert lead.name == "Ana Souza"
    assert lead.stage == "company"
    flow = app.extensions["sdr_flow"]
    assert flow.question_stage("company").ask("pt-BR") in reply


def test_short_gap_keeps_the_thread(app: Flask, send: Send, clock: Clock) -> None:
    send(PHONE, "Oi")
    clock.advance(hours=23)
    send(PHONE, "sim")
    assert count(app, ConversationThread) == 1


def test_restart_ends_the_thread_and_starts_a_fresh_flow(app: Flask, send: Send, clock: Clock) -> None:
    send(PHONE, "Oi")
    send(PHONE, "sim")
    send(PHONE, "Ana Souza")
    send(PHONE, "recomeçar")
    threads = rows(app, ConversationThread)
    assert [t.end_reason for t in threads] == ["user_requested", None]
    lead = lead_by_phone(app, PHONE)
    assert lead.name is None
    assert lead.stage == "consent"
    (restart,) = rows(app, Message, direction="inbound", text="recomeçar")
    assert restart.thread_id == threads[0].id
    replies = [m for m in rows(app, Message, direction="outbound") if m.id > restart.id]
    assert replies and all(m.thread_id == threads[1].id for m in replies)


@BACKEND_MATRIX
def test_unexpected_error_gets_an_apology_and_a_reset_not_a_500(
    app: Flask, send: Send, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    send(PHONE, "Oi")

    def broken_step(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("injected failure")

    monkeypatch.setattr(sdr_agent.conversation, "step", broken_step)
    sid = new_message_sid()
    response = send(PHONE, "sim", sid=sid)
    flow = app.extensions["sdr_flow"]
    assert texts(response) == flow.text("error", "pt-BR")

    (inbound,) = rows(app, Message, provider_sid=sid)
    assert inbound.text == "sim"
    assert [t.end_reason for t in rows(app, ConversationThread)] == ["error", None]
    # Twilio's retry of the same message gets the same apology, not a second one.
    assert send(PHONE, "sim", sid=sid).get_data() == response.get_data()
    assert count(app, Message, direction="inbound") == 2

    monkeypatch.undo()
    assert texts(send(PHONE, "sim"))  # the lead carries on afterwards


def test_database_outage_is_a_503_with_retry_after() -> None:
    # Port 1 on loopback: the connection is refused, as during a PostgreSQL restart.
    app = create_app(base_config("postgresql+psycopg://postgres@127.0.0.1:1/none", None))
    response = signed_post(app.test_client(), "/twilio/whatsapp", whatsapp_form(PHONE, "Oi"))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
