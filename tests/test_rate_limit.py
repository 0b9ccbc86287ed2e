"""Per-lead rate limit: a flooding number is throttled politely, nothing it sends is lost, others go on as usual."""
from __future__ import annotations

import time
from typing import Callable

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from sdr_agent import create_app
from sdr_agent.extensions import db
from sdr_agent.qualification import LeadState, Turn, initial_state, step
from sdr_agent.ratelimit import LocalWindows, RateLimit, Verdict
from sdr_agent.simulator import WebhookClient, new_message_sid, reply_texts, whatsapp_form
from tests.conftest import BACKEND_MATRIX, Clock, base_config
from tests.dbcheck import Message, count, lead_by_phone, rows
from tests.parallel import post_all

FLOODER = "+5511944440000"
NEIGHBOURS = ("+5511944440001", "+5511944440002", "+5511944440003")
FLOOD = 50
LIMIT = 20
WINDOW_S = 10.0  # the defaults: long enough for a flood to arrive whole even on a busy machine
ANSWERS = ["sim", "Ana Souza", "Acme Ltda", "1", "Automatizar o atendimento", "50 mil", "este mês", "ana@acme.com"]
NOTICE_PT = ("Você está enviando mensagens mais rápido do que consigo ler — continuo a partir da sua próxima "
             "mensagem em alguns segundos.")
EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response />'


@pytest.fixture
def rate_limit_messages() -> int:
    """SDR_RATE_LIMIT_MESSAGES of the app; a test parametrizes it to change it."""
    return LIMIT


@pytest.fixture
def app_config(database_url: str, redis_url: str | None, rate_limit_messages: int) -> dict[str, str]:
    # The replay below checks the engine alone (no meeting offer after qualifying).
    return base_config(database_url, redis_url, SDR_BOOKING_ENABLED="0",
                       SDR_RATE_LIMIT_MESSAGES=str(rate_limit_messages), SDR_RATE_LIMIT_WINDOW_SECONDS=str(WINDOW_S))


def replay(app: Flask, phone: str, clock: Clock) -> LeadState:
    """Step the engine over the lead's processed messages in stored order; every stored reply must match."""
    flow = app.extensions["sdr_flow"]
    state: LeadState = initial_state("pt-BR")
    lead = lead_by_phone(app, phone)
    for message in rows(app, Message, lead_id=lead.id, direction="inbound", status="received"):
        result = step(flow, state, Turn(text=message.text, now=clock.now))
        assert reply_texts(message.reply_body) == list(result.replies), message.text
        state = result.state
    assert lead.state == state.to_dict()
    return state


@BACKEND_MATRIX
def test_a_flood_from_one_number_is_stored_whole_throttled_politely_and_leaves_other_leads_alone(
    app: Flask, live_server: str
) -> None:
    clock = Clock()
    app.extensions["sdr_conversation"].clock = clock  # fixed time: the replays must match exactly
    flood = [whatsapp_form(FLOODER, ANSWERS[i % len(ANSWERS)], sid=new_message_sid()) for i in range(FLOOD)]
    neighbours = [whatsapp_form(phone, "Oi") for phone in NEIGHBOURS]
    started = time.monotonic()
    results = post_all(live_server, flood + neighbours)
    answered = time.monotonic()  # the window started before this
    assert answered - started < WINDOW_S, "the flood must fit in one window for the counts below"

    assert {status for status, _ in results} == {200}
    body_of = {form["MessageSid"]: body for form, (_, body) in zip(flood, results)}
    lead = lead_by_phone(app, FLOODER)
    inbound = rows(app, Message, lead_id=lead.id, direction="inbound")
    assert sorted(message.provider_sid for message in inbound) == sorted(body_of)  # all 50, each once
    assert all(body_of[message.provider_sid] == message.reply_body for message in inbound)
    processed = [message for message in inbound if message.status == "received"]
    throttled = [message for message in inbound if message.status == "throttled"]
    assert (len(processed), len(throttled)) == (LIMIT, FLOOD - LIMIT)
    state = replay(app, FLOODER, clock)  # the processed ones went through the engine one after another
    answers = [reply_texts(message.reply_body) for message in throttled]
    assert answers.count([NOTICE_PT]) == 1
    assert answers.count([]) == FLOOD - LIMIT - 1
    assert count(app, Message, lead_id=lead.id, direction="outbound", text=NOTICE_PT) == 1

    welcome = step(app.extensions["sdr_flow"], initial_state("pt-BR"), Turn(text="Oi", now=clock.now)).replies
    for form, (_, body) in zip(neighbours, results[FLOOD:]):
        assert reply_texts(body) == list(welcome)

    # Twilio retries, of processed, noticed and quiet messages alike, replay what was answered.
    notice_sid = next(message.provider_sid for message in throttled if reply_texts(message.reply_body))
    quiet_sid = next(message.provider_sid for message in throttled if not reply_texts(message.reply_body))
    retried = [form for form in flood if form["MessageSid"] in {processed[3].provider_sid, notice_sid, quiet_sid}]
    for form, (status, body) in zip(retried, post_all(live_server, retried)):
        assert (status, body) == (200, body_of[form["MessageSid"]])
    assert count(app, Message, direction="inbound", lead_id=lead.id) == FLOOD

    # Once the window is over, the lead carries on where the processed messages left it.
    time.sleep(max(answered + WINDOW_S + 0.1 - time.monotonic(), 0))
    [(status, body)] = post_all(live_server, [whatsapp_form(FLOODER, "Acme Ltda")])
    assert status == 200
    expected = step(app.extensions["sdr_flow"], state, Turn(text="Acme Ltda", now=clock.now)).replies
    assert reply_texts(body) == list(expected)
    replay(app, FLOODER, clock)


@pytest.mark.parametrize("rate_limit_messages", [5])  # the strictest limit a burst of five passes
@BACKEND_MATRIX
def test_a_burst_of_five_with_every_message_retried_at_once_is_never_throttled(app: Flask, live_server: str) -> None:
    forms = [whatsapp_form(FLOODER, text) for text in ["Oi", "sim", "Ana Souza", "Acme", "1"]]
    copies = [form for form in forms for _copy in range(4)]  # each one also retried three times, all at once
    started = time.monotonic()
    results = post_all(live_server, copies)
    assert time.monotonic() - started < WINDOW_S

    assert {status for status, _ in results} == {200}
    inbound = rows(app, Message, direction="inbound")
    assert [message.status for message in inbound] == ["received"] * 5
    assert count(app, Message, direction="outbound", text=NOTICE_PT) == 0
    stored = {message.provider_sid: message.reply_body for message in inbound}
    assert [body for _, body in results] == [stored[form["MessageSid"]] for form in copies]


@pytest.mark.parametrize("rate_limit_messages", [1])
@pytest.mark.parametrize("redis_url", ["absent", "redis"], indirect=True)
def test_voice_turns_are_not_counted(app: Flask, send: Callable[..., TestResponse]) -> None:
    call = WebhookClient(app).call(FLOODER)
    call.start()
    for speech in ["sim", "Ana Souza", "Acme Ltda"]:
        assert call.say(speech)  # Twilio paces a call's turns itself

    assert count(app, Message, status="throttled") == 0
    assert reply_texts(send(FLOODER, "1").get_data(as_text=True))  # still the window's first message
    assert reply_texts(send(FLOODER, "2").get_data(as_text=True)) == [NOTICE_PT]
    assert reply_texts(send(FLOODER, "3").get_data(as_text=True)) == []


def test_with_redis_down_each_process_counts_for_itself(database_url: str) -> None:
    app = create_app(base_config(database_url, "redis://127.0.0.1:1/0", SDR_RATE_LIMIT_MESSAGES="2"))
    with app.app_context():
        db.create_all()
    webhooks = WebhookClient(app)

    answers = [webhooks.send_whatsapp(FLOODER, text) for text in ["Oi", "sim", "Ana Souza", "Acme"]]

    assert answers[0] and answers[1] and NOTICE_PT not in answers[0] + answers[1]
    assert answers[2:] == [[NOTICE_PT], []]
    assert [m.status for m in rows(app, Message, direction="inbound")] == ["received"] * 2 + ["throttled"] * 2
    with app.app_context():
        db.engine.dispose()


def test_a_window_counts_each_message_once_and_starts_over_when_it_ends() -> None:
    now = [100.0]
    limit = RateLimit(messages=2, window_seconds=10.0)
    windows = LocalWindows(limit, clock=lambda: now[0])

    places = [windows.place("lead", sid) for sid in ["a", "b", "a", "c", "d", "e", "c"]]

    assert places == [1, 2, 1, 3, 4, 4, 3]
    assert [limit.verdict(place) for place in (1, 2, 3, 4)] == [Verdict.PROCESS, Verdict.PROCESS, Verdict.NOTICE,
                                                                Verdict.QUIET]
    assert windows.place("other", "a") == 1  # every lead has its own window
    now[0] += 10.0
    assert windows.place("lead", "f") == 1
    assert windows.place("lead", "a") == 2  # a retry from the last window counts once in the new one


def test_zero_messages_turns_the_limit_off() -> None:
    limit = RateLimit(messages=0, window_seconds=10.0)
    windows = LocalWindows(limit)
    assert {limit.verdict(windows.place("lead", str(n))) for n in range(100)} == {Verdict.PROCESS}
