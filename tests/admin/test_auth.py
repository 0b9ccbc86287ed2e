"""Every /admin endpoint refuses anonymous access; login, logout, CSRF and rate limiting."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import BACKEND_MATRIX, base_config, close_app, make_app
from tests.dbcheck import Lead, count

from .conftest import ADMIN_PASSWORD, Send, csrf_token, log_in

PHONE = "+5511987654321"
SAMPLE_VALUES = {"lead_id": 1, "action": "erase"}


def admin_requests(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every /admin rule except the login form."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.endpoint == "admin_auth.login":
            continue
        values = {name: SAMPLE_VALUES[name] for name in rule.arguments}
        url = rule.rule
        for name, value in values.items():
            url = url.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, url))
    return found


def test_every_admin_endpoint_refuses_anonymous_access(app: Flask, client: FlaskClient, send: Send) -> None:
    send(PHONE, "Oi")  # lead 1 exists, so a refusal is not just a 404
    requests = admin_requests(app)
    endpoints = {endpoint for endpoint, _, _ in requests}
    assert {"admin.overview", "admin.leads", "admin.lead", "admin.act", "admin.export_csv", "admin.logout"} <= endpoints
    for endpoint, method, url in requests:
        response = client.open(url, method=method, data={"confirm": "erase"})
        if method == "GET":
            assert response.status_code == 302, (endpoint, response.status_code)
            assert response.headers["Location"].startswith("/admin/login"), endpoint
        else:
            assert response.status_code == 401, (endpoint, response.status_code)
        assert "Ana" not in response.get_data(as_text=True)
    assert count(app, Lead) == 1  # the anonymous erase did nothing


def test_login_with_the_right_password_opens_the_dashboard(client: FlaskClient) -> None:
    assert client.get("/admin").status_code == 302
    response = log_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin"
    assert client.get("/admin").status_code == 200


def test_login_returns_to_the_page_asked_for_but_never_off_site(client: FlaskClient) -> None:
    token = csrf_token(client)
    response = client.post("/admin/login", data={"password": ADMIN_PASSWORD, "csrf_token": token, "next": "/admin/leads?q=x"})
    assert response.headers["Location"] == "/admin/leads?q=x"
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin")})
    response = client.post("/admin/login", data={"password": ADMIN_PASSWORD, "csrf_token": csrf_token(client),
                                                 "next": "https://evil.example/"})
    assert response.headers["Location"] == "/admin"


def test_wrong_password_is_refused(client: FlaskClient) -> None:
    response = log_in(client, "guess")
    assert response.status_code == 401
    assert "Wrong password" in response.get_data(as_text=True)
    assert client.get("/admin").status_code == 302


def test_logout_ends_the_session(operator: FlaskClient) -> None:
    response = operator.post("/admin/logout", data={"csrf_token": csrf_token(operator, "/admin")})
    assert response.status_code == 303
    assert operator.get("/admin").status_code == 302


def test_without_admin_password_nobody_can_log_in(database_url: str) -> None:
    from sdr_agent import create_app

    app = create_app(base_config(database_url, None, ADMIN_PASSWORD="", SDR_ENV="staging", REDIS_URL="redis://127.0.0.1:1/0",
                                 PUBLIC_BASE_URL="https://sdr.example.com"))
    client = app.test_client()
    token = csrf_token(client)
    assert client.post("/admin/login", data={"password": "", "csrf_token": token}).status_code == 401
    assert client.post("/admin/login", data={"password": "admin", "csrf_token": token}).status_code == 401


def test_state_changing_forms_without_a_csrf_token_are_rejected(app: Flask, operator: FlaskClient, send: Send) -> None:
    send(PHONE, "Oi")
    for path in ("/admin/leads/1/hand_off", "/admin/leads/1/erase", "/admin/logout"):
        response = operator.post(path, data={"confirm": "erase"})
        assert response.status_code == 400, path
        assert "CSRF" in response.get_data(as_text=True)
        response = operator.post(path, data={"confirm": "erase", "csrf_token": "forged"})
        assert response.status_code == 400, path
    assert count(app, Lead, stage="consent") == 1
    assert operator.get("/admin").status_code == 200  # still logged in


def test_login_form_needs_a_csrf_token(client: FlaskClient) -> None:
    response = client.post("/admin/login", data={"password": ADMIN_PASSWORD})
    assert response.status_code == 400
    assert client.get("/admin").status_code == 302


def test_whatsapp_webhook_is_not_subject_to_csrf(app: Flask, send: Send) -> None:
    assert app.config["WTF_CSRF_ENABLED"] is not False
    response = send(PHONE, "Oi")
    assert response.status_code == 200
    assert "<Message>" in response.get_data(as_text=True)


@BACKEND_MATRIX
def test_failed_logins_are_rate_limited(client: FlaskClient) -> None:
    assert log_in(client).status_code == 303  # a good login does not count
    client.post("/admin/logout", data={"csrf_token": csrf_token(client, "/admin")})
    for _ in range(5):
        assert log_in(client, "guess").status_code == 401
    response = log_in(client)  # even the right password waits now
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rate_limit_falls_back_to_memory_when_redis_is_down(database_url: str) -> None:
    from sdr_agent import create_app

    app = create_app(base_config(database_url, "redis://127.0.0.1:1/0", ADMIN_PASSWORD=ADMIN_PASSWORD))
    client = app.test_client()
    for _ in range(5):
        assert log_in(client, "guess").status_code == 401
    assert log_in(client).status_code == 429


# --- The login limit behind a proxy, and under a burst -------------------------------------------

def proxied_login(client: FlaskClient, password: str, client_ip: str, spoofed: str = "") -> int:
    """A login as it reaches us through one proxy: the proxy appends the client's address."""
    forwarded = f"{spoofed}, {client_ip}" if spoofed else client_ip
    token = csrf_token(client)
    response = client.post("/admin/login", data={"password": password, "csrf_token": token},
                           headers={"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "http"})
    return response.status_code


def test_a_guessing_client_behind_the_proxy_does_not_lock_out_other_operators(database_url: str) -> None:
    app = make_app(base_config(database_url, None, ADMIN_PASSWORD=ADMIN_PASSWORD, SDR_PROXY_HOPS="1"))
    try:
        attacker, operator = app.test_client(), app.test_client()
        # The attacker also writes its own X-Forwarded-For entries; only the proxy's last one counts.
        assert [proxied_login(attacker, "guess", "203.0.113.5", spoofed=f"198.51.100.{n}") for n in range(6)] == \
            [401] * 5 + [429]
        assert proxied_login(operator, ADMIN_PASSWORD, "203.0.113.77") == 303
        assert proxied_login(attacker, ADMIN_PASSWORD, "203.0.113.5", spoofed="203.0.113.77") == 429
    finally:
        close_app(app)


def test_a_refused_login_says_how_long_to_wait(client: FlaskClient) -> None:
    for _ in range(5):
        assert log_in(client, "guess").status_code == 401
    response = log_in(client, "guess")
    assert response.status_code == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert "Wait a minute" in response.get_data(as_text=True)


@pytest.mark.parametrize(("database_url", "redis_url"), [("sqlite", "redis"), ("postgresql", "redis")], indirect=True)
def test_a_burst_of_parallel_guesses_gets_exactly_five_password_checks(live_server: str) -> None:
    import re
    from concurrent.futures import ThreadPoolExecutor

    import requests

    def guess(_index: int) -> int:
        with requests.Session() as browser:
            page = browser.get(f"{live_server}/admin/login", timeout=10).text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            return browser.post(f"{live_server}/admin/login", data={"password": "guess", "csrf_token": token},
                                timeout=10).status_code

    with ThreadPoolExecutor(max_workers=32) as pool:
        statuses = list(pool.map(guess, range(32)))
    assert sorted(statuses) == [401] * 5 + [429] * 27


# --- Sessions can be revoked ---------------------------------------------------------------------

def test_a_copied_cookie_is_worthless_after_logout(app: Flask, operator: FlaskClient) -> None:
    stolen = operator.get_cookie("session")
    assert stolen is not None
    assert operator.post("/admin/logout", data={"csrf_token": csrf_token(operator, "/admin")}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("session", stolen.value)
    assert thief.get("/admin/export.csv").status_code == 302
    assert thief.get("/admin").status_code == 302


def test_a_new_admin_password_ends_every_session(app: Flask, app_config: dict[str, str],
                                                 operator: FlaskClient) -> None:
    cookie = operator.get_cookie("session")
    assert cookie is not None and operator.get("/admin").status_code == 200
    restarted = make_app({**app_config, "ADMIN_PASSWORD": "a brand new passphrase"})
    try:
        client = restarted.test_client()
        client.set_cookie("session", cookie.value)
        assert client.get("/admin").status_code == 302
    finally:
        close_app(restarted)
    assert operator.get("/admin").status_code == 200  # the old process, old password: still valid there


def test_a_session_cookie_signed_with_the_key_but_never_issued_is_refused(app: Flask) -> None:
    # What the public development key let anyone do: sign {"sdr_operator": true} themselves.
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert serializer is not None
    client = app.test_client()
    for forged in ({"sdr_operator": True}, {"sdr_operator": "made-up-token"}):
        client.set_cookie("session", serializer.dumps(forged))
        assert client.get("/admin/export.csv").status_code == 302
