"""POST /twilio/status: delivery statuses move forward only; junk and unknown SIDs are harmless."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sdr_agent.models import ConversationThread, Lead, Message
from sdr_agent.simulator import EXAMPLE_ACCOUNT_SID
from tests.conftest import BACKEND_MATRIX, signed_post
from tests.dbcheck import rows

PATH = "/twilio/status"
SID = "SM" + "ab" * 16


@pytest.fixture
def outbound(app: Flask) -> None:
    """One outbound message sent through the REST API, waiting for callbacks."""
    with app.extensions["sdr_session_factory"].begin() as session:
        lead = Lead(phone="+5511912345678", phone_hash="h" * 64, language="pt-BR", stage="name", state={})
        session.add(lead)
        session.flush()
        thread = ConversationThread(lead_id=lead.id, channel="whatsapp")
        session.add(thread)
        session.flush()
        session.add(Message(lead_id=lead.id, thread_id=thread.id, direction="outbound", channel="whatsapp", text="Oi", provider_sid=SID, status="queued"))


def callback(client: FlaskClient, status: str, sid: str = SID, **extra: str) -> int:
    form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": EXAMPLE_ACCOUNT_SID, **extra}
    return signed_post(client, PATH, form).status_code


def stored_status(app: Flask) -> str | None:
    (message,) = rows(app, Message, provider_sid=SID)
    return message.status


@BACKEND_MATRIX
def test_status_moves_forward_never_backwards(app: Flask, client: FlaskClient, outbound: None) -> None:
    assert callback(client, "sent") == 200
    assert stored_status(app) == "sent"
    assert callback(client, "delivered") == 200
    assert callback(client, "sent") == 200  # late, out-of-order callback
    assert stored_status(app) == "delivered"
    assert callback(client, "delivered") == 200  # duplicate
    assert callback(client, "read") == 200
    assert stored_status(app) == "read"


def test_failure_records_the_error_code(app: Flask, client: FlaskClient, outbound: None) -> None:
    assert callback(client, "undelivered", ErrorCode="63016") == 200
    (message,) = rows(app, Message, provider_sid=SID)
    assert (message.status, message.error_code) == ("undelivered", "63016")


def test_unknown_sid_is_answered_200_and_changes_nothing(app: Flask, client: FlaskClient, outbound: None) -> None:
    assert callback(client, "delivered", sid="SM" + "00" * 16) == 200
    assert stored_status(app) == "queued"


def test_unusable_callback_is_400(client: FlaskClient, outbound: None) -> None:
    assert callback(client, "exploded") == 400
    assert signed_post(client, PATH, {"MessageStatus": "sent"}).status_code == 400


def test_forged_callback_is_403(app: Flask, client: FlaskClient, outbound: None) -> None:
    response = client.post(PATH, data={"MessageSid": SID, "MessageStatus": "delivered"}, headers={"X-Twilio-Signature": "bad"})
    assert response.status_code == 403
    assert stored_status(app) == "queued"
