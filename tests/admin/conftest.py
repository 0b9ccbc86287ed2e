"""Fixtures for the dashboard and simulator: an operator password, logged-in clients, seeded leads."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from sdr_agent.models import Lead
from tests.conftest import Clock, base_config

ADMIN_PASSWORD = "correct horse battery staple"
TOKEN_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')

Send = Callable[..., TestResponse]


@pytest.fixture
def app_config(database_url: str, redis_url: str | None) -> dict[str, str]:
    """The usual test environment plus a dashboard password."""
    return base_config(database_url, redis_url, ADMIN_PASSWORD=ADMIN_PASSWORD)


def csrf_token(client: FlaskClient, path: str = "/admin/login") -> str:
    """The CSRF token a page of this client's session carries."""
    match = TOKEN_PATTERN.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def log_in(client: FlaskClient, password: str = ADMIN_PASSWORD) -> TestResponse:
    """Submit the login form like a browser would."""
    return client.post("/admin/login", data={"password": password, "csrf_token": csrf_token(client)})


@pytest.fixture
def operator(client: FlaskClient) -> FlaskClient:
    """A test client logged in to the dashboard."""
    assert log_in(client).status_code == 303
    return client


def play(send: Send, clock: Clock, phone: str, texts: Iterable[str], gap_seconds: float) -> None:
    """Send a lead's messages through the real webhook, `gap_seconds` apart."""
    for text in texts:
        response = send(phone, text)
        assert response.status_code == 200, response.get_data(as_text=True)
        clock.advance(seconds=gap_seconds)


def add_lead(app: Flask, **fields: Any) -> int:
    """Insert a lead row directly (for list/export tests that need exact values)."""
    number = fields.pop("number")
    values: dict[str, Any] = {
        "phone": f"+551199{number:07d}",
        "phone_hash": f"hash-{number}",
        "language": "pt-BR",
        "stage": "name",
        "score": 0,
        "opted_out": False,
        "handed_off": False,
        "state": {},
        "created_at": datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc),
    }
    values.update(fields)
    with app.extensions["sdr_session_factory"]() as session, session.begin():
        lead = Lead(**values)
        session.add(lead)
        session.flush()
        return lead.id
