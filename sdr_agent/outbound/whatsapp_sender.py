"""The one place that sends WhatsApp messages through Twilio's REST API, within Twilio's rules."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Mapping, Sequence

import requests
from requests.exceptions import ConnectTimeout
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.exceptions import NewConnectionError

from ..channels.twiml import split_text
from ..config import Settings
from ..telemetry import external_call

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window after the lead's last message
TWILIO_TIMEOUT_SECONDS = 10.0


class RetryableSendError(RuntimeError):
    """Twilio said "later" (429, 5xx) or did not answer: try again with backoff."""


class PermanentSendError(RuntimeError):
    """Twilio refused the message for good (4xx): retrying cannot help."""


class AmbiguousSendError(RuntimeError):
    """The request left but no answer came back: Twilio may have accepted it, so a retry could send it twice."""


@dataclass(frozen=True)
class WhatsAppMessage:
    """What to send: free-form text, or an approved template when outside the window."""

    to: str  # E.164
    body: str | None = None
    content_sid: str | None = None
    content_variables: Mapping[str, str] | None = None

    def parts(self) -> Sequence[str | None]:
        """Free text in pieces Twilio accepts (1600 characters); a template is one part."""
        return split_text(self.body) if self.body is not None else [None]


def in_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether free-form text is allowed: the lead wrote on WhatsApp less than 24 hours ago."""
    return last_inbound_at is not None and now - last_inbound_at < WINDOW


def twilio_client(settings: Settings, http_client: TwilioHttpClient | None = None) -> Client | None:
    """A REST client built once per process; None when no real credentials are configured."""
    if not settings.can_send_whatsapp:
        return None
    return Client(settings.twilio_account_sid, settings.twilio_auth_token,
                  http_client=http_client or TwilioHttpClient(timeout=TWILIO_TIMEOUT_SECONDS))


class WhatsAppSender:
    """Sends one part of a message and classifies what went wrong."""

    def __init__(self, settings: Settings, client: Client | None) -> None:
        self.settings = settings
        self.client = client

    @property
    def live(self) -> bool:
        """False locally: sends are stored and logged, never attempted."""
        return self.client is not None

    def send_part(self, message: WhatsAppMessage, part: str | None) -> str:
        """Send one part; returns Twilio's MessageSid."""
        assert self.client is not None, "send_part needs Twilio credentials"
        fields: dict[str, str] = {"to": f"whatsapp:{message.to}", "from_": self.settings.twilio_whatsapp_from or ""}
        if part is not None:
            fields["body"] = part
        else:
            fields["content_sid"] = message.content_sid or ""
            fields["content_variables"] = json.dumps(dict(message.content_variables or {}))
        if self.settings.status_callback_url:
            fields["status_callback"] = self.settings.status_callback_url
        try:
            with external_call("twilio", timeout_s=TWILIO_TIMEOUT_SECONDS, operation="messages.create"):
                created = self.client.messages.create(**fields)
        except TwilioRestException as exc:
            if exc.status == 429 or exc.status >= 500:
                raise RetryableSendError(f"twilio {exc.status}") from exc
            raise PermanentSendError(f"twilio {exc.status} code {exc.code}") from exc
        except requests.exceptions.RequestException as exc:
            if _never_reached_twilio(exc):
                raise RetryableSendError(type(exc).__name__) from exc
            raise AmbiguousSendError(type(exc).__name__) from exc
        return str(created.sid)


def _never_reached_twilio(exc: requests.exceptions.RequestException) -> bool:
    """Whether the request certainly did not arrive: the connection itself could not be made."""
    if isinstance(exc, ConnectTimeout):
        return True
    # requests wraps urllib3's MaxRetryError, whose reason says at which step it failed.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.exceptions.ConnectionError) and isinstance(reason, NewConnectionError)
