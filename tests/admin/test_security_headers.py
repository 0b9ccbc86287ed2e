"""Security headers on every response, HSTS and the session cookie's flags outside development."""
from __future__ import annotations

from http.cookies import SimpleCookie
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from sdr_agent import create_app
from sdr_agent.simulator import call_form
from tests.conftest import base_config, finish_background_work, flushed_redis, signed_post

from .conftest import ADMIN_PASSWORD, TOKEN_PATTERN, Send, log_in

PHONE = "+5511987650077"
EVERYWHERE = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
# What the pages need and nothing more: their own script, stylesheet and endpoints.
CSP_DIRECTIVES = {
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'",
    "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
}


def assert_secured(response: TestResponse, what: str) -> None:
    for name, value in EVERYWHERE.items():
        assert response.headers.get(name) == value, (what, name, response.headers.get(name))
    csp = {part.strip() for part in response.headers.get("Content-Security-Policy", "").split(";")}
    assert csp == CSP_DIRECTIVES, (what, csp)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def responses_of_every_kind(client: FlaskClient, send: Send) -> dict[str, TestResponse]:
    """One response of each kind the service gives: TwiML, errors, JSON, pages, assets."""
    voice = call_form(PHONE, "CA" + "7" * 32)
    return {
        "whatsapp TwiML": send(PHONE, "Oi"),
        "voice TwiML": signed_post(client, "/twilio/voice", voice),
        "forged webhook 403": client.post("/twilio/whatsapp", data={"Body": "x"}),
        "unusable webhook 400": signed_post(client, "/twilio/whatsapp", {"Body": "x"}),
        "oversized 413": client.post("/twilio/whatsapp", data={"Body": "x" * 70_000}),
        "health JSON": client.get("/healthz"),
        "login page": client.get("/admin/login"),
        "anonymous redirect": client.get("/admin/leads"),
        "stylesheet": client.get("/assets/admin.css"),
        "simulator page (anonymous)": client.get("/simulator"),
        "not found": client.get("/nowhere"),
    }


def test_every_kind_of_response_carries_the_security_headers(client: FlaskClient, send: Send) -> None:
    responses = responses_of_every_kind(client, send)
    assert [r.status_code for r in responses.values()] == [200, 200, 403, 400, 413, 200, 200, 302, 200, 302, 404]
    assert responses["whatsapp TwiML"].get_data(as_text=True).startswith("<?xml")  # TwiML itself is untouched
    for what, response in responses.items():
        assert_secured(response, what)
        assert "Strict-Transport-Security" not in response.headers, what  # local http must stay usable
        response.close()  # the stylesheet is streamed from an open file
    log_in(client)
    for path in ("/admin", "/admin/leads?q=a", "/admin/leads/1", "/admin/export.csv"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_secured(response, path)
        assert response.headers["Cache-Control"] == "no-store", path  # personal data stays out of caches
        response.close()


@pytest.fixture
def production_app(database_url: str, redis_server_url: str) -> Iterator[Flask]:
    """The app as SDR_ENV=production configures it (every secret explicit)."""
    # Flushed: failed logins another test left in the limiter's window would answer this login 429.
    app = create_app(base_config(database_url, flushed_redis(redis_server_url), SDR_ENV="production",
                                 ADMIN_PASSWORD=ADMIN_PASSWORD, PUBLIC_BASE_URL="https://sdr.example"))
    app.config["TESTING"] = True
    with app.app_context():
        from sdr_agent.extensions import db

        if db.engine.dialect.name == "sqlite":
            db.create_all()
    yield app
    finish_background_work(app)


def session_cookie(response: TestResponse) -> SimpleCookie:
    (header,) = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    cookie = SimpleCookie()
    cookie.load(header)
    return cookie


def test_production_sends_hsts_and_a_locked_down_session_cookie(production_app: Flask) -> None:
    client = production_app.test_client()
    https = {"base_url": "https://sdr.example", "headers": {"Referer": "https://sdr.example/admin/login"}}
    form_page = client.get("/admin/login", **https)
    assert form_page.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert_secured(form_page, "production login page")
    token = csrf_token_from(form_page)
    response = client.post("/admin/login", data={"password": ADMIN_PASSWORD, "csrf_token": token}, **https)
    assert response.status_code == 303

    morsel = session_cookie(response)["session"]
    raw = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")][0]
    assert morsel["httponly"] is True, raw
    assert morsel["secure"] is True, raw
    assert morsel["samesite"] == "Lax", raw
    assert morsel["path"] == "/", raw
    assert client.get("/admin", **https).status_code == 200  # the cookie works over https


def test_development_cookie_is_httponly_and_samesite_but_works_over_http(client: FlaskClient) -> None:
    response = log_in(client)
    morsel = session_cookie(response)["session"]
    assert morsel["httponly"] is True and morsel["samesite"] == "Lax"
    assert not morsel["secure"]  # `make run` serves plain http on localhost


def csrf_token_from(response: TestResponse) -> str:
    match = TOKEN_PATTERN.search(response.get_data(as_text=True))
    assert match
    return match.group(1)

