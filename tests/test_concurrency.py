"""Exactly-once and one-at-a-time under real concurrency, on every database/Redis combination."""
from __future__ import annotations

import pytest
from flask import Flask

from sdr_agent.qualification import LeadState, Turn, initial_state, step
from sdr_agent.simulator import new_message_sid, reply_texts, whatsapp_form
from tests.conftest import BACKEND_MATRIX, Clock, base_config
from tests.dbcheck import Message, StageEvent, count, lead_by_phone, rows
from tests.parallel import post_all

PHONE = "+5511955550000"
PARALLEL = 20


@pytest.fixture
def app_config(database_url: str, redis_url: str | None) -> dict[str, str]:
    # The replays below check the engine alone; a lead the race happens to qualify would
    # otherwise also be offered meeting slots by the booking conversation.
    return base_config(database_url, redis_url, SDR_BOOKING_ENABLED="0")


@BACKEND_MATRIX
def test_twenty_copies_of_one_message_sid_give_one_stored_message_and_one_answer(app: Flask, live_server: str) -> None:
    form = whatsapp_form(PHONE, "Olá, quero saber mais sobre o produto de vocês", sid=new_message_sid())
    results = post_all(live_server, [form] * PARALLEL)

    assert {status for status, _ in results} == {200}
    bodies = {body for _, body in results}
    assert len(bodies) == 1, "every copy must get the very same answer"
    assert count(app, Message, direction="inbound") == 1
    assert count(app, Message, direction="outbound") == len(reply_texts(bodies.pop()))
    assert count(app, StageEvent) == 1


@BACKEND_MATRIX
def test_twenty_messages_of_one_lead_at_once_are_processed_one_after_another(app: Flask, live_server: str) -> None:
    clock = Clock()
    app.extensions["sdr_conversation"].clock = clock  # fixed time: the replay below must match exactly
    answers = ["sim", "Ana Souza", "Acme Ltda", "1", "Automatizar o atendimento", "50 mil", "este mês", "ana@acme.com"]
    texts = [answers[i % len(answers)] for i in range(PARALLEL)]
    results = post_all(live_server, [whatsapp_form(PHONE, text) for text in texts])
    assert {status for status, _ in results} == {200}

    # The insert order is the processing order; replaying the engine over it one message
    # at a time must give exactly the stored replies and the stored final state. A lost
    # update (two messages processed against the same state) would break the chain.
    inbound = rows(app, Message, direction="inbound")
    assert len(inbound) == PARALLEL
    flow = app.extensions["sdr_flow"]
    state: LeadState = initial_state("pt-BR")
    for message in inbound:
        result = step(flow, state, Turn(text=message.text, now=clock.now))
        assert reply_texts(message.reply_body) == list(result.replies)
        state = result.state
    assert lead_by_phone(app, PHONE).state == state.to_dict()
