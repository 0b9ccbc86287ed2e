"""A slow model or transcription is waited on with no database connection held, when Redis orders the turn."""
from __future__ import annotations

import base64
import time
from typing import Callable, Iterator

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from sdr_agent.extensions import db
from sdr_agent.models import ModelTurn
from sdr_agent.qualification import Flow
from sdr_agent.simulator import EXAMPLE_ACCOUNT_SID, new_message_sid, reply_texts, whatsapp_form
from tests.conftest import AUTH_TOKEN, BACKEND_MATRIX, base_config
from tests.dbcheck import Message, lead_by_phone, rows
from tests.fake_llm import FakeModel, Request, commands, transcript
from tests.parallel import post_all

PHONE = "+5511966660000"
Send = Callable[..., TestResponse]
OGG = b"OggS" + bytes(2000)
SLOW_MODEL_S = 1.5


@pytest.fixture
def model() -> Iterator[FakeModel]:
    fake = FakeModel().start()
    fake.media["note"] = OGG
    fake.media_auth = "Basic " + base64.b64encode(f"{EXAMPLE_ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    yield fake
    fake.stop()


@pytest.fixture
def app_config(database_url: str, redis_url: str | None, model: FakeModel) -> dict[str, str]:
    return base_config(database_url, redis_url, SDR_LLM_API_KEY="sk-test", SDR_LLM_BASE_URL=model.base_url,
                       SDR_LLM_MODEL="fake-small", SDR_LLM_TIMEOUT_MS="3000", SDR_TRANSCRIBE_MODEL="fake-whisper")


def connections_held_while_asked(app: Flask, model: FakeModel) -> list[int]:
    """Start noting, at each model or transcription request, how many pooled connections the app holds."""
    held: list[int] = []

    def note(request: Request) -> None:
        with app.app_context():
            held.append(db.engine.pool.checkedout())

    model.observe = note
    return held


def to_budget(send: Send) -> None:
    for text in ("oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar o atendimento de vendas"):
        send(PHONE, text)


def budget(value: str) -> dict[str, str | None]:
    return {"command": "set_slot", "slot": "budget", "value": value, "topic": None}


@BACKEND_MATRIX
def test_the_model_is_waited_on_with_no_connection_held_under_the_redis_lock(
        app: Flask, send: Send, model: FakeModel, flow: Flow, redis_url: str | None) -> None:
    to_budget(send)
    held = connections_held_while_asked(app, model)
    model.then(commands(budget("50000")))
    reply = reply_texts(send(PHONE, "cinquentinha por mês, mais ou menos").get_data(as_text=True))
    assert reply == [flow.question_stage("timeline").ask("pt-BR")]
    # With Redis the lead's lock orders the turn, and the transaction waits for nothing; without it the row
    # lock is the only order, so the call is made inside the transaction (one connection held).
    assert held == ([0] if redis_url else [1])
    lead = lead_by_phone(app, PHONE)
    assert lead.stage == "timeline" and lead.state["slots"]["budget"]
    # The turn was stored once, with one model turn, although its transaction ran twice.
    assert [t.outcome for t in rows(app, ModelTurn)] == ["applied"]
    inbound = [m.text for m in rows(app, Message, direction="inbound")]
    assert inbound.count("cinquentinha por mês, mais ou menos") == 1


@BACKEND_MATRIX
def test_a_voice_note_is_transcribed_with_no_connection_held_under_the_redis_lock(
        app: Flask, send: Send, model: FakeModel, flow: Flow, redis_url: str | None) -> None:
    send(PHONE, "oi")
    send(PHONE, "sim")
    held = connections_held_while_asked(app, model)
    model.transcripts.append(transcript("Ana Souza"))
    media_url = model.base_url.removesuffix("/v1") + "/media/note"
    response = send(PHONE, "", NumMedia="1", MediaUrl0=media_url, MediaContentType0="audio/ogg")
    assert reply_texts(response.get_data(as_text=True)) == [flow.question_stage("company").ask("pt-BR")]
    assert held == ([0] if redis_url else [1])
    assert len(model.downloads) == 1
    assert lead_by_phone(app, PHONE).state["slots"]["name"] == "Ana Souza"


@BACKEND_MATRIX
def test_a_transcript_the_model_must_read_makes_one_call_of_each(
        app: Flask, send: Send, model: FakeModel) -> None:
    to_budget(send)
    held = connections_held_while_asked(app, model)
    model.transcripts.append(transcript("cinquentinha por mês, mais ou menos"))
    model.then(commands(budget("50000")))
    media_url = model.base_url.removesuffix("/v1") + "/media/note"
    send(PHONE, "", NumMedia="1", MediaUrl0=media_url, MediaContentType0="audio/ogg")
    assert [r.path.rsplit("/", 1)[-1] for r in model.requests] == ["transcriptions", "completions"]
    assert len(held) == 2 and len(model.downloads) == 1
    assert lead_by_phone(app, PHONE).stage == "timeline"


@BACKEND_MATRIX
def test_many_leads_wait_on_a_slow_model_at_once(app: Flask, send: Send, model: FakeModel,
                                                 live_server: str, redis_url: str | None) -> None:
    """More turns wait on the model than the pool has connections (PostgreSQL: 5 + 5 overflow; SQLite lets one
    writer in at a time): with Redis, every one of them is asked before the first answer comes back."""
    phones = [f"+55119666{i:05d}" for i in range(14)]
    for phone in phones:
        for text in ("oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar o atendimento de vendas"):
            send(phone, text)
    arrivals: list[float] = []
    model.observe = lambda request: arrivals.append(time.monotonic())
    model.default = lambda request: commands(budget("50000"), delay_s=SLOW_MODEL_S)
    forms = [whatsapp_form(phone, "cinquentinha por mês", sid=new_message_sid()) for phone in phones]
    results = post_all(live_server, forms)
    assert {status for status, _ in results} == {200}
    assert len(arrivals) == len(phones)
    assert all(lead_by_phone(app, phone).stage == "timeline" for phone in phones)
    if redis_url:
        # Had the turns held a connection (or SQLite's write lock) while waiting, the last ones could only
        # ask once the first answers came back, a whole model latency later.
        assert max(arrivals) - min(arrivals) < SLOW_MODEL_S
