"""POST /twilio/whatsapp with realistic Twilio payloads, signatures and malformed requests."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sdr_agent.simulator import reply_texts
from tests.conftest import AUTH_TOKEN, BOTH_DATABASES, base_config, signed_post
from tests.dbcheck import Lead, Message, count, lead_by_phone, rows

FIXTURES = Path(__file__).parent / "fixtures" / "whatsapp"
PATH = "/twilio/whatsapp"


def fixture(name: str) -> dict[str, str]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def twilio_signature(url: str, form: dict[str, str]) -> str:
    """Twilio's documented algorithm, computed here independently of any library."""
    payload = url + "".join(key + form[key] for key in sorted(form))
    digest = hmac.new(AUTH_TOKEN.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@BOTH_DATABASES
def test_text_message_gets_the_greeting_and_everything_is_stored(app: Flask, client: FlaskClient) -> None:
    form = fixture("text")
    response = client.post(PATH, data=form, headers={"X-Twilio-Signature": twilio_signature(f"http://localhost{PATH}", form)})
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    flow = app.extensions["sdr_flow"]
    texts = reply_texts(response.get_data(as_text=True))
    assert flow.question_stage("consent").ask("pt-BR") in "\n".join(texts)

    lead = lead_by_phone(app, "+5511987654321")
    assert lead.stage == "consent"
    assert lead.profile_name == "Ana Souza"
    assert lead.name is None  # the profile name is a hint, never stored as the answer
    (inbound,) = rows(app, Message, direction="inbound")
    assert inbound.provider_sid == form["MessageSid"]
    assert inbound.text == form["Body"]
    assert inbound.reply_body == response.get_data(as_text=True)
    assert count(app, Message, direction="outbound") == len(texts)


@BOTH_DATABASES
def test_text_that_looks_like_json_sql_or_escapes_is_stored_exactly(app: Flask, client: FlaskClient) -> None:
    # On PostgreSQL a turn's rows travel as one JSON document: nothing in a message may be read as part of it.
    bodies = ['{"text": "x"}, null, [1,2]', "O'Brien \\ \\n \\u0000 \"quoted\"", "linha 1\nlinha 2\tfim",
              "😀 ação 𝄞 ﷽", "x" * 1500]
    sids = []
    for index, body in enumerate(bodies):
        sid = f"SM{index:032x}"
        form = {**fixture("text"), "Body": body, "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid}
        assert signed_post(client, PATH, form).status_code == 200
        sids.append(form["MessageSid"])
    for sid, body in zip(sids, bodies):
        (inbound,) = rows(app, Message, provider_sid=sid)
        assert inbound.text == body
        assert inbound.media is None and inbound.location is None
        assert inbound.created_at.tzinfo is not None
    replies = rows(app, Message, direction="outbound")
    assert replies and all(reply.text and reply.provider_sid is None for reply in replies)


@BOTH_DATABASES
def test_media_only_message_is_stored_and_asked_for_text(app: Flask, client: FlaskClient) -> None:
    signed_post(client, PATH, fixture("text"))
    form = fixture("media")
    response = signed_post(client, PATH, form)
    assert response.status_code == 200
    flow = app.extensions["sdr_flow"]
    assert flow.text("media_only", "pt-BR") in "\n".join(reply_texts(response.get_data(as_text=True)))
    (inbound,) = rows(app, Message, provider_sid=form["MessageSid"])
    assert inbound.media == [{"url": form["MediaUrl0"], "content_type": "image/jpeg"}]


@BOTH_DATABASES
def test_location_is_stored(app: Flask, client: FlaskClient) -> None:
    form = fixture("location")
    assert signed_post(client, PATH, form).status_code == 200
    (inbound,) = rows(app, Message, provider_sid=form["MessageSid"])
    assert inbound.location == {
        "latitude": -23.5613991,
        "longitude": -46.6565712,
        "address": "Av. Paulista, 1578 - Bela Vista, São Paulo",
        "label": "MASP",
    }


def test_button_reply_answers_the_consent_question(app: Flask, client: FlaskClient) -> None:
    first = fixture("text") | {"From": "whatsapp:+14155550123", "Body": "Hello, I would like to know more about your product"}
    signed_post(client, PATH, first)
    assert lead_by_phone(app, "+14155550123").stage == "consent"
    response = signed_post(client, PATH, fixture("button"))
    assert response.status_code == 200
    lead = lead_by_phone(app, "+14155550123")
    assert lead.language == "en"
    assert lead.stage == "name"


def test_unknown_extra_fields_are_accepted(app: Flask, client: FlaskClient) -> None:
    assert signed_post(client, PATH, fixture("unknown_fields")).status_code == 200
    assert count(app, Lead) == 1


def test_retried_message_sid_returns_the_same_reply_and_changes_nothing(app: Flask, client: FlaskClient) -> None:
    form = fixture("text")
    first = signed_post(client, PATH, form)
    state_after_first = lead_by_phone(app, "+5511987654321").state
    second = signed_post(client, PATH, form | {"Body": "something else entirely"})
    assert second.get_data(as_text=True) == first.get_data(as_text=True)
    assert count(app, Message, direction="inbound") == 1
    assert lead_by_phone(app, "+5511987654321").state == state_after_first


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Twilio-Signature": ""},
        {"X-Twilio-Signature": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
    ],
    ids=["missing", "empty", "forged"],
)
def test_bad_signature_is_403_and_stores_nothing(app: Flask, client: FlaskClient, headers: dict[str, str]) -> None:
    response = client.post(PATH, data=fixture("text"), headers=headers)
    assert response.status_code == 403
    assert count(app, Lead) == 0


def test_signature_for_another_url_is_403(app: Flask, client: FlaskClient) -> None:
    form = fixture("text")
    response = signed_post(client, PATH, form, url="https://attacker.example/twilio/whatsapp")
    assert response.status_code == 403


def test_signed_body_altered_in_transit_is_403(app: Flask, client: FlaskClient) -> None:
    form = fixture("text")
    signature = twilio_signature(f"http://localhost{PATH}", form)
    response = client.post(PATH, data=form | {"Body": "altered"}, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert count(app, Message) == 0


def test_signature_of_the_public_https_url_behind_a_proxy_is_accepted(client: FlaskClient) -> None:
    form = fixture("text")
    signature = twilio_signature(f"https://sdr.onrender.com{PATH}", form)
    response = client.post(
        PATH,
        data=form,
        headers={"X-Twilio-Signature": signature, "X-Forwarded-Proto": "https", "X-Forwarded-Host": "sdr.onrender.com"},
    )
    assert response.status_code == 200


@pytest.fixture
def public_url_config(database_url: str) -> dict[str, str]:
    return base_config(database_url, None, PUBLIC_BASE_URL="https://leads.example.com/")


def test_public_base_url_is_what_twilio_signs(public_url_config: dict[str, str]) -> None:
    from sdr_agent import create_app
    from sdr_agent.extensions import db

    app = create_app(public_url_config)
    with app.app_context():
        db.create_all()
    client = app.test_client()
    form = fixture("text")
    assert signed_post(client, PATH, form, url=f"http://localhost{PATH}").status_code == 403
    assert signed_post(client, PATH, form, url=f"https://leads.example.com{PATH}").status_code == 200


@pytest.mark.parametrize(
    ("drop_or_change", "reason"),
    [
        ({"From": None}, "missing From"),
        ({"MessageSid": None, "SmsMessageSid": None, "SmsSid": None}, "missing MessageSid"),
        ({"From": "whatsapp:+12"}, "From is not a valid phone number"),
        ({"From": "whatsapp:not-a-number"}, "From is not a valid phone number"),
    ],
)
def test_malformed_request_is_400_with_a_reason(app: Flask, client: FlaskClient, drop_or_change: dict[str, str | None], reason: str) -> None:
    form = fixture("text")
    for key, value in drop_or_change.items():
        if value is None:
            form.pop(key, None)
        else:
            form[key] = value
    response = signed_post(client, PATH, form)
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)
    assert count(app, Lead) == 0


def test_oversized_request_is_413(client: FlaskClient) -> None:
    form = fixture("text") | {"Body": "x" * (70 * 1024)}
    response = signed_post(client, PATH, form)
    assert response.status_code == 413


@BOTH_DATABASES
def test_nul_bytes_and_huge_bodies_are_cleaned_not_500(app: Flask, client: FlaskClient) -> None:
    form = fixture("text") | {"Body": "Oi\x00 tudo bem? " + "ç" * 5000}
    response = signed_post(client, PATH, form)
    assert response.status_code == 200
    (inbound,) = rows(app, Message, direction="inbound")
    assert "\x00" not in inbound.text
    assert len(inbound.text) <= 4096
