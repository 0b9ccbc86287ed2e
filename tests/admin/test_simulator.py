"""The simulator: operators only, only numbers it made up, throttled, through the real signed webhook."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import base_config, close_app, flushed_redis, make_app
from tests.dbcheck import Message, lead_by_phone, rows

from .conftest import ADMIN_PASSWORD, Send, log_in


def open_page(client: FlaskClient) -> tuple[str, str]:
    """Load the simulator page; returns (its made-up phone, its CSRF token)."""
    html = client.get("/simulator").get_data(as_text=True)
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', html)
    phone = re.search(r'<input id="phone" value="([^"]+)" readonly>', html)
    assert token and phone, html[:500]
    return phone.group(1), token.group(1)


def say(client: FlaskClient, token: str, phone: str, text: str) -> tuple[int, dict]:
    response = client.post("/simulator/send", json={"phone": phone, "text": text}, headers={"X-CSRFToken": token})
    return response.status_code, response.get_json(silent=True) or {}


def test_simulator_chat_gets_the_bots_first_question(app: Flask, operator: FlaskClient) -> None:
    phone, token = open_page(operator)
    html = operator.get("/simulator").get_data(as_text=True)
    assert 'id="chat"' in html and "quero saber mais" in html  # the opening line, suggested
    status, body = say(operator, token, phone, "Olá! Vi o anúncio de vocês e quero saber mais.")
    assert status == 200
    assert body["phone"] == phone
    assert any("Posso fazer algumas perguntas rápidas" in reply for reply in body["replies"])
    assert any("qual é o seu nome?" in reply for reply in say(operator, token, phone, "sim")[1]["replies"])
    inbound = rows(app, Message, direction="inbound")
    assert [message.text for message in inbound] == ["Olá! Vi o anúncio de vocês e quero saber mais.", "sim"]
    assert all(message.provider_sid.startswith("SM") for message in inbound)
    assert lead_by_phone(app, phone).stage == "name"


def test_the_simulator_needs_the_operator_login(app: Flask, client: FlaskClient) -> None:
    response = client.get("/simulator")
    assert response.status_code == 302 and response.headers["Location"].startswith("/admin/login")
    response = client.post("/simulator/send", json={"phone": "+5511955555555", "text": "PARAR"})
    assert response.status_code == 401
    assert rows(app, Message) == []
    # After logging in the operator lands back on the simulator.
    response = client.post("/admin/login", data={"password": ADMIN_PASSWORD, "next": "/simulator",
                                                 "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', client.get(
                                                     "/admin/login").get_data(as_text=True)).group(1)})
    assert response.headers["Location"] == "/simulator"


def test_the_simulator_cannot_speak_as_a_real_lead(app: Flask, operator: FlaskClient, send: Send) -> None:
    real = "+5511987650123"
    assert send(real, "Oi").status_code == 200
    _phone, token = open_page(operator)
    for text in ("PARAR", "cancelar", "quero remarcar"):
        status, body = say(operator, token, real, text)
        assert status == 403, body
        assert "only the numbers it made up" in body["error"]
    lead = lead_by_phone(app, real)
    assert not lead.opted_out
    assert [message.text for message in rows(app, Message, direction="inbound")] == ["Oi"]


def test_the_simulator_never_makes_up_a_number_a_lead_has(app: Flask, operator: FlaskClient, send: Send,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    taken = "+5511900000001"
    assert send(taken, "Oi").status_code == 200
    draws = iter([1, 2])  # the first random draw is the real lead's number
    monkeypatch.setattr("sdr_agent.admin.simulator_views.secrets.randbelow", lambda _bound: next(draws))
    phone, _token = open_page(operator)
    assert phone == "+5511900000002"


def test_simulator_messages_are_signature_checked(app: Flask, operator: FlaskClient,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    phone, token = open_page(operator)
    monkeypatch.setattr("sdr_agent.simulator.sign", lambda *args: "forged-signature")
    status, body = say(operator, token, phone, "Oi")
    assert status == 502
    assert "403" in body["error"]
    assert rows(app, Message) == []


def test_simulator_signs_for_the_public_url(database_url: str) -> None:
    app = make_app(base_config(database_url, None, PUBLIC_BASE_URL="https://sdr.example.com",
                               ADMIN_PASSWORD=ADMIN_PASSWORD))
    try:
        client = app.test_client()
        assert log_in(client).status_code == 303
        phone, token = open_page(client)
        status, body = say(client, token, phone, "Oi")
        assert status == 200 and body["replies"]
    finally:
        close_app(app)


def test_simulator_rejects_bad_input_and_missing_csrf(operator: FlaskClient) -> None:
    phone, token = open_page(operator)
    assert say(operator, token, phone, "")[0] == 400
    assert say(operator, token, "not a phone", "Oi")[0] == 403
    response = operator.post("/simulator/send", json={"phone": phone, "text": "Oi"})
    assert response.status_code == 400


@pytest.mark.parametrize(("database_url", "redis_url"), [("sqlite", "absent"), ("sqlite", "redis")], indirect=True)
def test_simulator_sends_are_throttled(app: Flask, operator: FlaskClient, redis_url: str | None) -> None:
    phone, token = open_page(operator)
    statuses = [say(operator, token, phone, f"mensagem {index}")[0] for index in range(32)]
    assert statuses[:30] == [200] * 30
    assert statuses[30:] == [429, 429]
    assert len(rows(app, Message, direction="inbound")) == 30


@pytest.mark.parametrize(("extra", "status"), [({}, 404), ({"SDR_SIMULATOR": "1"}, 200)])
def test_simulator_outside_development_only_when_enabled(database_url: str, redis_server_url: str,
                                                         extra: dict[str, str], status: int) -> None:
    config = base_config(database_url, flushed_redis(redis_server_url), SDR_ENV="staging",
                         PUBLIC_BASE_URL="https://sdr.example.com", ADMIN_PASSWORD=ADMIN_PASSWORD, **extra)
    app = make_app(config)
    try:
        client = app.test_client()
        assert log_in(client).status_code == 303
        assert client.get("/simulator").status_code == status
    finally:
        close_app(app)
