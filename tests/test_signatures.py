"""Every /twilio/* route, found by walking the URL map, refuses requests Twilio did not sign for it."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from twilio.request_validator import HMAC_SHA256, RequestValidator

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


def test_a_signature_over_the_url_with_its_default_port_passes(client: FlaskClient) -> None:
    # Twilio signs some URLs with the port written out; the check tries that form when the plain one fails.
    form = whatsapp_form(PHONE, "oi")
    signature = sign(AUTH_TOKEN, "http://localhost:80/twilio/whatsapp", form)
    assert client.post("/twilio/whatsapp", data=form, headers={"X-Twilio-Signature": signature}).status_code == 200


def test_a_sha256_signature_passes_and_an_unknown_algorithm_is_refused(client: FlaskClient) -> None:
    form = whatsapp_form(PHONE, "oi")
    url = "http://localhost/twilio/whatsapp"
    signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form, HMAC_SHA256)
    settings = {"X-Twilio-Webhooks-Signature-Settings": "key=sk1,algorithm=HMAC_SHA256"}
    assert client.post("/twilio/whatsapp", data=form,
                       headers={"X-Twilio-Signature": signature, **settings}).status_code == 200
    unknown = {"X-Twilio-Webhooks-Signature-Settings": "key=sk1,algorithm=HMAC_MD5"}
    assert client.post("/twilio/whatsapp", data=whatsapp_form(PHONE, "oi"),
                       headers={"X-Twilio-Signature": signature, **unknown}).status_code == 403


# --- Strict identifiers: a correctly signed request that is not a real Twilio request ---------

def test_a_captured_message_replayed_with_characters_moved_across_fields_is_refused(
        client: FlaskClient, app: Flask) -> None:
    form = whatsapp_form(PHONE, "oi")
    url = "http://localhost/twilio/whatsapp"
    signature = sign(AUTH_TOKEN, url, form)
    assert client.post("/twilio/whatsapp", data=form, headers={"X-Twilio-Signature": signature}).status_code == 200
    # Twilio's signature joins sorted names and values with no separator: "MessageSid<sid>MessageTypetext"
    # reads the same whether MessageType is a field or the tail of the SID.
    shifted = {key: value for key, value in form.items() if key != "MessageType"}
    shifted["MessageSid"] = form["MessageSid"] + "MessageType" + form["MessageType"]
    shifted["SmsMessageSid"] = form["SmsMessageSid"]
    assert sign(AUTH_TOKEN, url, shifted) == signature  # the forgery really carries a valid signature
    response = client.post("/twilio/whatsapp", data=shifted, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 400
    assert "MessageSid is not a Twilio SID" in response.get_data(as_text=True)


@pytest.mark.parametrize(("field", "value", "status", "reason"), [
    ("MessageSid", "SM" + "g" * 32, 400, "MessageSid is not a Twilio SID"),
    ("MessageSid", "XX" + "a" * 32, 400, "MessageSid is not a Twilio SID"),
    ("SmsMessageSid", "SM" + "b" * 32, 400, "SmsMessageSid differs from MessageSid"),
    ("AccountSid", "AC" + "2" * 32, 403, "AccountSid is not TWILIO_ACCOUNT_SID"),
])
def test_malformed_or_foreign_identifiers_are_refused_with_the_reason(
        client: FlaskClient, field: str, value: str, status: int, reason: str) -> None:
    form = {**whatsapp_form(PHONE, "oi"), field: value}
    url = "http://localhost/twilio/whatsapp"
    response = client.post("/twilio/whatsapp", data=form, headers={"X-Twilio-Signature": sign(AUTH_TOKEN, url, form)})
    assert response.status_code == status
    assert reason in response.get_data(as_text=True)


def test_a_call_sid_must_be_well_formed(client: FlaskClient) -> None:
    form = call_form(PHONE, "CA" + "1" * 31 + "x")
    url = "http://localhost/twilio/voice"
    response = client.post("/twilio/voice", data=form, headers={"X-Twilio-Signature": sign(AUTH_TOKEN, url, form)})
    assert response.status_code == 400
    assert "CallSid is not a Twilio SID" in response.get_data(as_text=True)
