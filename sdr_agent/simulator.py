"""Play a lead: send signed Twilio-style webhooks through the real endpoint and read the replies."""
from __future__ import annotations

import secrets
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Mapping
from xml.etree import ElementTree

from flask import Flask
from twilio.request_validator import RequestValidator

WHATSAPP_PATH = "/twilio/whatsapp"
VOICE_PATH = "/twilio/voice"
VOICE_STATUS_PATH = "/twilio/voice/status"
TWILIO_NUMBER = "+14155238886"
# The account the forms claim when no other is given (tests and the benchmark configure this one).
EXAMPLE_ACCOUNT_SID = "AC" + "1" * 32
OPENING_LINES = {
    "pt-BR": "Olá! Vi o anúncio de vocês e quero saber mais.",
    "en": "Hello! I saw your ad and I would like to know more about your service.",
}


def sign(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for this URL and form."""
    return RequestValidator(auth_token).compute_signature(url, dict(form))


def new_message_sid() -> str:
    """A MessageSid in Twilio's format (SM + 32 hex)."""
    return "SM" + secrets.token_hex(16)


def whatsapp_form(phone: str, text: str, sid: str | None = None, profile_name: str | None = None,
                  account_sid: str = EXAMPLE_ACCOUNT_SID) -> dict[str, str]:
    """The form Twilio posts for an inbound WhatsApp text message."""
    form = {
        "MessageSid": sid or new_message_sid(),
        "SmsMessageSid": sid or "",
        "AccountSid": account_sid,
        "From": f"whatsapp:{phone}",
        "To": "whatsapp:+14155238886",
        "Body": text,
        "NumMedia": "0",
        "NumSegments": "1",
        "MessageType": "text",
        "WaId": phone.lstrip("+"),
        "ApiVersion": "2010-04-01",
    }
    form["SmsMessageSid"] = form["MessageSid"]
    if profile_name:
        form["ProfileName"] = profile_name
    return form


def new_call_sid() -> str:
    """A CallSid in Twilio's format (CA + 32 hex)."""
    return "CA" + secrets.token_hex(16)


def call_form(phone: str, call_sid: str, account_sid: str = EXAMPLE_ACCOUNT_SID, **fields: str) -> dict[str, str]:
    """The form Twilio posts to a voice webhook for a call from `phone`."""
    return {
        "CallSid": call_sid,
        "AccountSid": account_sid,
        "From": phone,
        "To": TWILIO_NUMBER,
        "Caller": phone,
        "Called": TWILIO_NUMBER,
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        **fields,
    }


def reply_texts(twiml: str) -> list[str]:
    """The texts of every <Message> in a TwiML response."""
    root = ElementTree.fromstring(twiml)
    return [(element.text or "") for element in root.iter("Message")]


def spoken_texts(twiml: str) -> list[str]:
    """The texts of every <Say> in a TwiML response, in order."""
    root = ElementTree.fromstring(twiml)
    return [(element.text or "") for element in root.iter("Say")]


def gather_action(twiml: str) -> str | None:
    """The action URL of the response's <Gather>; None when the call ends (no <Gather>)."""
    gather = ElementTree.fromstring(twiml).find("Gather")
    return None if gather is None else gather.get("action")


@dataclass
class WebhookClient:
    """Posts signed webhooks in-process (Flask test client) or to a running server."""

    app: Flask
    base_url: str | None = None

    def send_whatsapp(self, phone: str, text: str) -> list[str]:
        """Send one WhatsApp message as the lead and return the bot's reply texts."""
        account_sid = self.app.extensions["sdr_settings"].twilio_account_sid
        status, body = self.post(WHATSAPP_PATH, whatsapp_form(phone, text, account_sid=account_sid))
        if status != 200:
            raise RuntimeError(f"webhook answered {status}: {body.strip()}")
        return reply_texts(body)

    def call(self, phone: str) -> "CallSession":
        """Start a simulated call from `phone`."""
        return CallSession(self, phone)

    def post(self, path: str, form: Mapping[str, str]) -> tuple[int, str]:
        """POST a signed form to `path`; returns (status, body)."""
        settings = self.app.extensions["sdr_settings"]
        if self.base_url:
            url = self.base_url.rstrip("/") + path
            signed_url = (settings.public_base_url + path) if settings.public_base_url else url
            headers = {"X-Twilio-Signature": sign(settings.twilio_auth_token, signed_url, form)}
            request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=15) as response:
                    return response.status, response.read().decode("utf-8")
            except urllib.error.HTTPError as error:
                return error.code, error.read().decode("utf-8", "replace")
        signed_url = (settings.public_base_url or "http://localhost") + path
        headers = {"X-Twilio-Signature": sign(settings.twilio_auth_token, signed_url, form)}
        response = self.app.test_client().post(path, data=dict(form), headers=headers)
        return response.status_code, response.get_data(as_text=True)


class CallSession:
    """One simulated phone call: the opening, spoken answers, then the hang-up and its status callback."""

    def __init__(self, client: WebhookClient, phone: str) -> None:
        self.client = client
        self.phone = phone
        self.call_sid = new_call_sid()
        self.account_sid = client.app.extensions["sdr_settings"].twilio_account_sid
        self.action: str | None = None
        self.last_twiml = ""
        self.seconds = 0

    @property
    def ended(self) -> bool:
        """True once the bot hung up (its last response had no <Gather>)."""
        return bool(self.last_twiml) and self.action is None

    def start(self) -> list[str]:
        """Ring the number; returns what the bot says first."""
        return self._post(VOICE_PATH, call_form(self.phone, self.call_sid, self.account_sid, CallStatus="ringing"))

    def say(self, speech: str, confidence: float = 0.92) -> list[str]:
        """Answer the open question by voice (an empty string is silence); returns the bot's next words."""
        if self.action is None:
            raise RuntimeError("the call has ended" if self.last_twiml else "start the call first")
        fields = {"SpeechResult": speech, "Confidence": f"{confidence:.2f}"} if speech else {}
        self.seconds += 8
        return self._post(self.action, call_form(self.phone, self.call_sid, self.account_sid, **fields))

    def hang_up(self, status: str = "completed") -> None:
        """Send the call-status callback Twilio sends when the call is over."""
        form = call_form(self.phone, self.call_sid, self.account_sid, CallStatus=status,
                         CallDuration=str(self.seconds))
        status_code, body = self.client.post(VOICE_STATUS_PATH, form)
        if status_code >= 300:
            raise RuntimeError(f"status callback answered {status_code}: {body.strip()}")

    def _post(self, path: str, form: Mapping[str, str]) -> list[str]:
        status, body = self.client.post(path, form)
        if status != 200:
            raise RuntimeError(f"voice webhook answered {status}: {body.strip()}")
        self.last_twiml = body
        self.action = gather_action(body)
        return spoken_texts(body)
