"""WhatsApp voice notes: downloaded with the account's credentials, transcribed over loopback, handled as text."""
from __future__ import annotations

import base64
from typing import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from sdr_agent.qualification import Flow
from sdr_agent.simulator import EXAMPLE_ACCOUNT_SID, new_message_sid, reply_texts
from sdr_agent.understanding.voice_notes import MAX_AUDIO_BYTES
from tests.admin.conftest import ADMIN_PASSWORD, log_in
from tests.conftest import AUTH_TOKEN, base_config
from tests.dbcheck import Message, lead_by_phone, rows
from tests.fake_llm import FakeModel, status, transcript

PHONE = "+5511911110000"
Send = Callable[..., TestResponse]
OGG = b"OggS" + bytes(2000)


@pytest.fixture
def model() -> Iterator[FakeModel]:
    fake = FakeModel().start()
    fake.media["note"] = OGG
    fake.media["long"] = b"OggS" + bytes(MAX_AUDIO_BYTES + 10)
    basic = base64.b64encode(f"{EXAMPLE_ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
    fake.media_auth = f"Basic {basic}"
    yield fake
    fake.stop()


@pytest.fixture
def features() -> str:
    return "understand,answer,transcribe"


@pytest.fixture
def app_config(database_url: str, redis_url: str | None, model: FakeModel, features: str) -> dict[str, str]:
    return base_config(database_url, redis_url, SDR_LLM_API_KEY="sk-test", SDR_LLM_BASE_URL=model.base_url,
                       SDR_LLM_FEATURES=features, SDR_TRANSCRIBE_MODEL="fake-whisper", ADMIN_PASSWORD=ADMIN_PASSWORD)


def voice_note(send: Send, model: FakeModel, name: str = "note", sid: str | None = None) -> TestResponse:
    media_url = model.base_url.removesuffix("/v1") + f"/media/{name}"
    return send(PHONE, "", sid=sid, NumMedia="1", MediaUrl0=media_url, MediaContentType0="audio/ogg")


def test_a_voice_note_is_transcribed_and_read_as_the_answer(app: Flask, send: Send, model: FakeModel, flow: Flow,
                                                           client: FlaskClient) -> None:
    send(PHONE, "oi")
    send(PHONE, "sim")
    model.transcripts.append(transcript("Ana Souza"))
    reply = reply_texts(voice_note(send, model).get_data(as_text=True))
    assert reply == [flow.question_stage("company").ask("pt-BR")]
    assert lead_by_phone(app, PHONE).state["slots"]["name"] == "Ana Souza"
    [request] = [r for r in model.requests if r.path.endswith("/audio/transcriptions")]
    assert request.body["bytes"] > len(OGG)  # the audio went up as a multipart upload
    stored = [m for m in rows(app, Message, direction="inbound") if m.media]
    assert stored[0].text == "Ana Souza" and stored[0].media[0]["transcribed"] == "true"
    assert log_in(client).status_code == 303
    page = client.get(f"/admin/leads/{stored[0].lead_id}").get_data(as_text=True)
    assert "[voice note, transcribed]" in page


def test_a_retried_voice_note_is_not_downloaded_or_transcribed_again(send: Send, model: FakeModel) -> None:
    send(PHONE, "oi")
    model.transcripts.append(transcript("sim"))
    sid = new_message_sid()
    first = voice_note(send, model, sid=sid)
    again = voice_note(send, model, sid=sid)
    assert first.get_data() == again.get_data()
    assert len(model.downloads) == 1
    assert len([r for r in model.requests if r.path.endswith("/audio/transcriptions")]) == 1


@pytest.mark.parametrize("name, answers", [("long", []), ("missing", []), ("note", [status(500)]),
                                           ("note", [transcript("")])],
                         ids=["too-long", "download-fails", "transcription-fails", "nothing-heard"])
def test_an_unusable_voice_note_asks_the_lead_to_type(send: Send, model: FakeModel, flow: Flow, name: str,
                                                      answers: list) -> None:  # type: ignore[type-arg]
    send(PHONE, "oi")
    send(PHONE, "sim")
    model.transcripts.extend(answers)
    reply = reply_texts(voice_note(send, model, name=name).get_data(as_text=True))
    assert reply[0] == flow.text("media_only", "pt-BR")
    if name == "long":
        assert not [r for r in model.requests if r.path.endswith("/audio/transcriptions")]


@pytest.mark.parametrize("features", ["understand,answer"])
def test_without_transcribe_nothing_is_downloaded(send: Send, model: FakeModel, flow: Flow) -> None:
    send(PHONE, "oi")
    send(PHONE, "sim")
    reply = reply_texts(voice_note(send, model).get_data(as_text=True))
    assert reply[0] == flow.text("media_only", "pt-BR")
    assert model.downloads == [] and model.requests == []
