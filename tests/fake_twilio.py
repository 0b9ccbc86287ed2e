"""A local stand-in for Twilio's Messages REST API, and a twilio HTTP client pointed at it."""
from __future__ import annotations

import base64
import json
import secrets
from typing import Any
from urllib.parse import parse_qs

from flask import Flask
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from sdr_agent.outbound.whatsapp_sender import WhatsAppSender

from tests.http_recorder import HttpRecorder, Recorded

TWILIO_API = "https://api.twilio.com"


class FakeTwilio(HttpRecorder):
    """Checks HTTP basic auth like Twilio, records each Messages.create form, answers with a new SID."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        super().__init__(self._answer_create)

    def sent(self) -> list[dict[str, str]]:
        """Forms of the accepted Messages.create calls, in order."""
        return [_form(request) for request in self.requests if request.status == 201]

    def _answer_create(self, request: Recorded) -> tuple[int, dict[str, str], bytes]:
        expected = "Basic " + base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return _json(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if request.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return _json(404, {"code": 20404, "message": "not found", "status": 404})
        return _json(201, {"sid": "SM" + secrets.token_hex(16), "status": "queued", "account_sid": self.account_sid})


def _form(request: Recorded) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.body.decode()).items()}


def _json(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


class LocalTwilioHttpClient(TwilioHttpClient):
    """twilio's own HTTP client, sending to the fake instead of api.twilio.com (its HTTP-client hook)."""

    def __init__(self, base_url: str, timeout: float = 2.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        return super().request(method, url.replace(TWILIO_API, self.base_url), *args, **kwargs)


def use_fake_twilio(app: Flask, fake: FakeTwilio, timeout: float = 0.5) -> None:
    """Point the app's WhatsApp sender at the fake, through twilio's HTTP-client hook."""
    services = app.extensions["sdr_outbound"]
    client = Client(fake.account_sid, fake.auth_token, http_client=LocalTwilioHttpClient(fake.url, timeout=timeout))
    services.sender = WhatsAppSender(services.settings, client)
