"""The simulator page and its endpoint, which goes through the real signed webhook."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sdr_agent import create_app
from tests.conftest import base_config
from tests.dbcheck import Message, lead_by_phone, rows

PHONE = "+5511955555555"


def page_token(client: FlaskClient) -> str:
    html = client.get("/simulator").get_data(as_text=True)
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    assert match
    return match.group(1)


def say(client: FlaskClient, text: str, phone: str = PHONE) -> tuple[int, dict]:
    response = client.post("/simulator/send", json={"phone": phone, "text": text}, headers={"X-CSRFToken": page_token(client)})
    return response.status_code, response.get_json()


def test_simulator_chat_gets_the_bots_first_question(app: Flask, client: FlaskClient) -> None:
    html = client.get("/simulator").get_data(as_text=True)
    assert 'id="chat"' in html and "quero saber mais" in html  # the opening line, suggested
    status, body = say(client, "Olá! Vi o anúncio de vocês e quero saber mais.")
    assert status == 200
    assert body["phone"] == PHONE
    assert any("Posso fazer algumas perguntas rápidas" in reply for reply in body["replies"])
    assert any("qual é o seu nome?" in reply for reply in say(client, "sim")[1]["replies"])
    inbound = rows(app, Message, direction="inbound")
    assert [message.text for message in inbound] == ["Olá! Vi o anúncio de vocês e quero saber mais.", "sim"]
    assert all(message.provider_sid.startswith("SM") for message in inbound)
    assert lead_by_phone(app, PHONE).stage == "name"


def test_simulator_messages_are_signature_checked(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sdr_agent.simulator.sign", lambda *args: "forged-signature")
    status, body = say(client, "Oi")
    assert status == 502
    assert "403" in body["error"]
    assert rows(app, Message) == []


def test_simulator_signs_for_the_public_url(database_url: str) -> None:
    app = create_app(base_config(database_url, None, PUBLIC_BASE_URL="https://sdr.example.com"))
    with app.app_context():
        from sdr_agent.extensions import db

        db.create_all()
    status, body = say(app.test_client(), "Oi")
    assert status == 200 and body["replies"]


def test_simulator_rejects_bad_input_and_missing_csrf(client: FlaskClient) -> None:
    assert say(client, "")[0] == 400
    assert say(client, "Oi", phone="not a phone")[0] == 400
    response = client.post("/simulator/send", json={"phone": PHONE, "text": "Oi"})
    assert response.status_code == 400


@pytest.mark.parametrize(("extra", "status"), [({}, 404), ({"SDR_SIMULATOR": "1"}, 200)])
def test_simulator_outside_development_only_when_enabled(database_url: str, extra: dict[str, str], status: int) -> None:
    config = base_config(database_url, "redis://127.0.0.1:1/0", SDR_ENV="staging", **extra)
    client = create_app(config).test_client()
    assert client.get("/simulator").status_code == status
