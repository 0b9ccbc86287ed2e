"""Signed JSON notifications to the team's webhooks (handoff, CRM); Slack's format for Slack."""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any, Mapping

import requests

from ..telemetry import external_call

SIGNATURE_HEADER = "X-SDR-Signature"
TIMESTAMP_HEADER = "X-SDR-Timestamp"
IDEMPOTENCY_HEADER = "X-SDR-Idempotency-Key"


class RetryableNotifyError(RuntimeError):
    """The receiver is down, slow or said "later" (429, 5xx)."""


class PermanentNotifyError(RuntimeError):
    """The receiver refused the notification (other 4xx)."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>"): what receivers verify."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def post_json(
    http: requests.Session,
    url: str,
    payload: Mapping[str, Any],
    *,
    secret: str | None,
    key: str,
    integration: str,
    timeout_s: float,
) -> int:
    """POST the payload; returns the status code, or raises a Retryable/Permanent error."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp, IDEMPOTENCY_HEADER: key}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    try:
        with external_call(integration, timeout_s=timeout_s, operation="POST"):
            response = http.post(url, data=body, headers=headers, timeout=timeout_s)
    except requests.exceptions.RequestException as exc:
        raise RetryableNotifyError(type(exc).__name__) from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableNotifyError(f"HTTP {response.status_code}")
    if response.status_code >= 400:
        raise PermanentNotifyError(f"HTTP {response.status_code}")
    return response.status_code
