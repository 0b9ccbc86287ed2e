"""A reverse proxy on loopback, as Render's: TLS in front (or plain HTTP), X-Forwarded-For/Proto/Host
appended, requests spread over one or more instances behind it. A browser test talks to the app only
through it; the scaling test sends Twilio's traffic through it to two instances on one database."""
from __future__ import annotations

import http.client
import itertools
import ssl
import threading
from http.server import BaseHTTPRequestHandler
from typing import Sequence
from urllib.parse import urlsplit

import trustme

from tests.loopback import LoopbackServer

# Connection-level headers belong to one hop and are not forwarded (RFC 9110, 7.6.1).
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}


def https_proxy(backend_url: str) -> LoopbackServer:
    """A proxy (not yet started) serving https://127.0.0.1:PORT with a throwaway certificate."""
    authority = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return reverse_proxy([backend_url], tls=context)


def reverse_proxy(backend_urls: Sequence[str], tls: ssl.SSLContext | None = None) -> LoopbackServer:
    """A proxy (not yet started) that sends each request to the next backend in turn."""
    backends = [urlsplit(url) for url in backend_urls]
    turns = itertools.cycle(range(len(backends)))
    turn_lock = threading.Lock()

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
            forwarded_for = ", ".join(filter(None, (self.headers.get("X-Forwarded-For"), self.client_address[0])))
            headers.update({"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https" if tls else "http",
                            "X-Forwarded-Host": self.headers.get("Host", ""), "Connection": "close"})
            with turn_lock:
                backend = backends[next(turns)]
            upstream = http.client.HTTPConnection(backend.hostname, backend.port, timeout=30)
            try:
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in HOP_BY_HOP | {"content-length"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            finally:
                upstream.close()

        do_GET = do_POST = do_HEAD = _forward

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
            """Quiet: the tests read what the clients see, not an access log."""

    return LoopbackServer(Forward, "reverse-proxy", tls=tls)
