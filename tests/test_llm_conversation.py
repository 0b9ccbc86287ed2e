"""The model in the real conversation path, over loopback: rules first, commands validated, fallbacks, once only."""
from __future__ import annotations

import re
import time
from typing import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from sdr_agent.models import ModelTurn
from sdr_agent.qualification import Flow
from sdr_agent.simulator import CallSession, WebhookClient, new_message_sid, reply_texts, whatsapp_form
from tests.admin.conftest import ADMIN_PASSWORD, log_in
from tests.conftest import BACKEND_MATRIX, base_config, close_app, make_app, signed_post
from tests.dbcheck import lead_by_phone, rows
from tests.fake_llm import Answer, FakeModel, commands, hang, malformed, refused, status
from tests.parallel import post_all

PHONE = "+5511955550000"
Send = Callable[..., TestResponse]


@pytest.fixture
def model() -> Iterator[FakeModel]:
    fake = FakeModel().start()
    yield fake
    fake.stop()


@pytest.fixture
def app_config(database_url: str, redis_url: str | None, model: FakeModel) -> dict[str, str]:
    return base_config(database_url, redis_url, SDR_LLM_API_KEY="sk-test", SDR_LLM_BASE_URL=model.base_url,
                       SDR_LLM_MODEL="fake-small", SDR_LLM_TIMEOUT_MS="1500", SDR_LLM_VOICE_TIMEOUT_MS="700",
                       SDR_LLM_PRICES="1000,2000", ADMIN_PASSWORD=ADMIN_PASSWORD)


def texts(response: TestResponse) -> list[str]:
    assert response.status_code == 200
    return reply_texts(response.get_data(as_text=True))


def to_budget(send: Send) -> None:
    for text in ("oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar o atendimento de vendas"):
        send(PHONE, text)


def set_slot(slot: str, value: str) -> dict[str, str | None]:
    return {"command": "set_slot", "slot": slot, "value": value, "topic": None}


def test_what_the_rules_understand_costs_no_call(app: Flask, send: Send, model: FakeModel) -> None:
    to_budget(send)
    send(PHONE, "R$ 20 mil por mês")
    send(PHONE, "PARAR")
    assert model.requests == []
    assert lead_by_phone(app, PHONE).opted_out


def test_an_answer_the_rules_cannot_read_is_read_by_the_model(app: Flask, send: Send, model: FakeModel,
                                                              flow: Flow) -> None:
    to_budget(send)
    model.then(commands(set_slot("budget", "50000")))
    reply = texts(send(PHONE, "cinquentinha por mês, mais ou menos"))
    assert reply == [flow.question_stage("timeline").ask("pt-BR")]
    lead = lead_by_phone(app, PHONE)
    assert lead.stage == "timeline" and lead.state["slots"]["budget"]
    prompt = model.requests[0].prompt_text
    assert "cinquentinha por mês" in prompt and '"slot": "budget"' in prompt
    assert PHONE not in prompt and PHONE.lstrip("+") not in prompt and "5511955550000" not in prompt
    assert model.requests[0].body["model"] == "fake-small"


def test_a_phone_number_typed_by_the_lead_never_reaches_the_model(send: Send, model: FakeModel) -> None:
    send(PHONE, "oi")
    send(PHONE, "sim")
    send(PHONE, "kkk sou eu do 11 95555-0000, ou do +55 11 98888-7777")
    prompt = model.requests[0].prompt_text
    assert "95555" not in prompt and "98888" not in prompt


@pytest.mark.parametrize("failure", [
    [status(500), status(500)], [status(429), status(429)], [malformed(), malformed()], [refused()], [hang()],
    [Answer(raw_body=b"not json at all"), Answer(raw_body=b"{}")],
], ids=["500", "429", "malformed", "refused", "hang", "broken-body"])
def test_failures_fall_back_to_the_rules_within_the_budget(send: Send, model: FakeModel, flow: Flow,
                                                          failure: list[Answer]) -> None:
    to_budget(send)
    model.then(*failure)
    started = time.monotonic()
    reply = texts(send(PHONE, "hmm deixa eu ver"))
    assert time.monotonic() - started < 1.5 + 0.5  # the WhatsApp budget of this app, plus the turn itself
    assert reply == [flow.question_stage("budget").retry("pt-BR")]
    assert len(model.requests) <= 2


def test_one_retry_that_fits_recovers(app: Flask, send: Send, model: FakeModel) -> None:
    to_budget(send)
    model.then(status(429), commands(set_slot("budget", "50000")))
    send(PHONE, "cinquentinha por mês")
    assert len(model.requests) == 2 and lead_by_phone(app, PHONE).stage == "timeline"


@BACKEND_MATRIX
def test_a_retried_message_sid_replays_without_a_second_call(app: Flask, send: Send, model: FakeModel) -> None:
    to_budget(send)
    model.then(commands(set_slot("budget", "50000")), commands(set_slot("budget", "90000")))
    sid = new_message_sid()
    first = send(PHONE, "cinquentinha por mês", sid=sid)
    again = send(PHONE, "cinquentinha por mês", sid=sid)
    assert again.get_data(as_text=True) == first.get_data(as_text=True)
    assert len(model.requests) == 1
    assert lead_by_phone(app, PHONE).stage == "timeline"


@BACKEND_MATRIX
def test_copies_of_one_message_at_once_ask_the_model_once(app: Flask, send: Send, model: FakeModel,
                                                         live_server: str) -> None:
    to_budget(send)
    model.default = lambda request: commands(set_slot("budget", "50000"), delay_s=0.2)
    form = whatsapp_form(PHONE, "cinquentinha por mês", sid=new_message_sid())
    results = post_all(live_server, [form] * 8)
    assert {status for status, _ in results} == {200}
    assert len({body for _, body in results}) == 1
    assert len(model.requests) == 1


@BACKEND_MATRIX
def test_the_circuit_opens_after_repeated_failures(app: Flask, send: Send, model: FakeModel) -> None:
    to_budget(send)
    breaker = app.extensions["sdr_conversation"].understanding.breaker
    model.default = lambda request: status(500)
    for _ in range(3):  # two attempts each: five failures open the circuit within the third message
        send(PHONE, "hmm deixa eu ver")
        send(PHONE, "hmm deixa eu ver")  # the retry limit moves the lead on; the next stage fails alike
    calls = len(model.requests)
    assert not breaker.allows()
    send(PHONE, "hmm deixa eu ver")
    assert len(model.requests) == calls  # open: no call at all, the rules answered


def test_the_questions_of_the_lead_are_answered_only_from_the_knowledge(app: Flask, send: Send, model: FakeModel,
                                                                        flow: Flow) -> None:
    to_budget(send)
    assert flow.knowledge is not None
    model.then(commands({"command": "question", "slot": None, "value": None, "topic": "discount-for-500-seats"}))
    reply = texts(send(PHONE, "e se eu fechar 500 licenças, vcs fazem por quanto?? tipo 10% off"))
    noted = flow.knowledge.reply("noted", "pt-BR")
    assert reply[0] == noted
    assert len(reply) == 2 and reply[1].endswith(flow.question_stage("budget").ask("pt-BR"))
    assert lead_by_phone(app, PHONE).state["open_questions"]


def test_a_voice_turn_uses_the_voice_budget(app: Flask, model: FakeModel) -> None:
    call = CallSession(WebhookClient(app), PHONE)
    call.start()
    call.say("sim")
    model.then(hang())
    started = time.monotonic()
    spoken = call.say("hmm é complicado, deixa eu pensar")
    assert time.monotonic() - started < 0.7 + 0.5  # the voice budget, far under the WhatsApp one
    assert spoken and len(model.requests) == 1


@BACKEND_MATRIX
def test_each_model_turn_is_stored_with_its_outcome_and_cost(app: Flask, send: Send, model: FakeModel) -> None:
    to_budget(send)
    model.then(commands(set_slot("budget", "50000")), status(500), status(500))
    sid = new_message_sid()
    send(PHONE, "cinquentinha por mês", sid=sid)
    send(PHONE, "cinquentinha por mês", sid=sid)  # a retry: replayed, nothing new stored
    send(PHONE, "hmm deixa eu ver")
    turns = rows(app, ModelTurn)
    assert [(t.stage, t.outcome) for t in turns] == [("budget", "applied"), ("timeline", "server_error")]
    assert turns[0].commands == [{"command": "set_slot", "slot": "budget"}]  # names, never the value
    assert turns[0].input_tokens > 0 and turns[0].output_tokens > 0 and turns[0].model == "fake-small"


def test_the_dashboard_counts_model_calls_fallbacks_and_tokens(app: Flask, send: Send, model: FakeModel,
                                                               client: FlaskClient) -> None:
    to_budget(send)
    model.then(commands(set_slot("budget", "50000")), status(500), status(500))
    send(PHONE, "cinquentinha por mês")
    send(PHONE, "hmm deixa eu ver")
    assert log_in(client).status_code == 303
    page = client.get("/admin").get_data(as_text=True)
    table = page[page.index('id="model-table"'):]
    cells = re.findall(r'<td class="num">(\d+)</td>', table)[:4]
    turns = rows(app, ModelTurn)
    input_tokens, output_tokens = sum(t.input_tokens for t in turns), sum(t.output_tokens for t in turns)
    assert cells == ["2", "1", str(input_tokens), str(output_tokens)]
    cost = (input_tokens * 1000 + output_tokens * 2000) / 1_000_000
    assert f'<td class="num">{cost:.4f}</td>' in table


def test_without_answer_the_model_cannot_pick_a_knowledge_entry(database_url: str, model: FakeModel) -> None:
    app = make_app(base_config(database_url, None, SDR_LLM_API_KEY="sk-test", SDR_LLM_BASE_URL=model.base_url,
                               SDR_LLM_FEATURES="understand"))
    try:
        client = app.test_client()
        for text in ("oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar o atendimento de vendas"):
            signed_post(client, "/twilio/whatsapp", whatsapp_form(PHONE, text))
        model.then(commands({"command": "question", "slot": None, "value": None, "topic": "pricing"}))
        response = signed_post(client, "/twilio/whatsapp", whatsapp_form(PHONE, "e o trem sai por quanto, sô?"))
        flow = app.extensions["sdr_flow"]
        assert texts(response)[0] == flow.knowledge.reply("noted", "pt-BR")  # the rules' matcher found no entry
        assert "knowledge_topics" not in model.requests[0].prompt_text
    finally:
        close_app(app)
