"""Every /twilio/* route, found by walking the URL map, refuses requests Twilio did not sign for it."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sdr_agent.simulator import call_form, sign, whatsapp_form
from tests.conftest import AUTH_TOKEN

PHONE = "+5511987650044"


def twilio_routes(app: Flask) -> list[str]:
    """Every POST route under /twilio/ (a new one is covered without editing this test)."""
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if rule.rule.startswith("/twilio/") and "POST" in (rule.methods or set()))


def form_for(path: str) -> dict[str, str]:
    if path.startswith("/twilio/voice"):
        return call_form(PHONE, "CA" + "1" * 32, SpeechResult="sim", CallStatus="completed")
    return {**whatsapp_form(PHONE, "oi"), "MessageStatus": "delivered"}


def test_the_walk_finds_every_twilio_endpoint(app: Flask) -> None:
    assert twilio_routes(app) == ["/twilio/status", "/twilio/voice", "/twilio/voice/gather", "/twilio/voice/status",
                                  "/twilio/whatsapp"]


@pytest.mark.parametrize("case", ["unsigned", "garbage", "other_token", "altered_body", "added_field", "removed_field", "wrong_url",
                                  "wrong_query", "signed_for_another_route"])
def test_every_twilio_route_rejects_requests_not_signed_for_it(app: Flask, client: FlaskClient, case: str) -> None:
    for path in twilio_routes(app):
        target = f"{path}?turn=1" if path.endswith("/gather") else path
        url = f"http://localhost{target}"
        form = form_for(path)
        good = sign(AUTH_TOKEN, url, form)
        sent, signature = dict(form), good
        if case == "unsigned":
            signature = ""
        elif case == "garbage":
            signature = "bm90IGEgc2lnbmF0dXJl"
        elif case == "other_token":
            signature = sign("another-account-token", url, form)
        elif case == "altered_body":
            sent = {**form, "From": "+5511900000000"}  # a replay with the sender changed
        elif case == "added_field":
            sent = {**form, "Injected": "1"}
        elif case == "removed_field":
            sent = {key: value for key, value in form.items() if key != "To"}
        elif case == "wrong_url":
            signature = sign(AUTH_TOKEN, f"https://attacker.example{target}", form)
        elif case == "wrong_query":
            signature = sign(AUTH_TOKEN, f"http://localhost{path}?turn=2", form)
        elif case == "signed_for_another_route":
            signature = sign(AUTH_TOKEN, "http://localhost/twilio/other", form)
        headers = {"X-Twilio-Signature": signature} if signature else {}
        response = client.post(target, data=sent, headers=headers)
        if case == "wrong_query" and not path.endswith("/gather"):
            continue  # only the gather URL carries a query
        assert response.status_code == 403, (case, path, response.status_code)


def test_correctly_signed_requests_pass_on_every_route(app: Flask, client: FlaskClient) -> None:
    for path in twilio_routes(app):
        target = f"{path}?turn=1" if path.endswith("/gather") else path
        form = form_for(path)
        response = client.post(target, data=form, headers={"X-Twilio-Signature": sign(AUTH_TOKEN, f"http://localhost{target}", form)})
        assert response.status_code in (200, 204), (path, response.status_code, response.get_data(as_text=True))
