"""Signed WhatsApp webhooks POSTed over real HTTP from many threads at the same moment."""
from __future__ import annotations

import threading
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from sdr_agent.simulator import sign
from tests.conftest import AUTH_TOKEN


def post_all(base_url: str, forms: list[dict[str, str]]) -> list[tuple[int, str]]:
    """POST every form at the same moment from its own thread; (status, body) in the order of `forms`."""
    url = f"{base_url}/twilio/whatsapp"
    barrier = threading.Barrier(len(forms))

    def post(form: dict[str, str]) -> tuple[int, str]:
        # The server sees Host 127.0.0.1:port, so that is the URL Twilio would have signed.
        request = urllib.request.Request(
            url, data=urllib.parse.urlencode(form).encode(), headers={"X-Twilio-Signature": sign(AUTH_TOKEN, url, form)}
        )
        barrier.wait(timeout=10)
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()

    with ThreadPoolExecutor(len(forms)) as pool:
        return list(pool.map(post, forms))
