"""An HTTPS-terminating reverse proxy on loopback, as Render's: TLS in front, plain HTTP behind,
X-Forwarded-For/Proto/Host appended. A browser test talks to the app only through it."""
from __future__ import annotations

import http.client
import ssl
from http.server import BaseHTTPRequestHandler
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
    backend = urlsplit(backend_url)

    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {name: value for name, value in self.headers.items() if name.lower() not in HOP_BY_HOP}
            forwarded_for = ", ".join(filter(None, (self.headers.get("X-Forwarded-For"), self.client_address[0])))
            headers.update({"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https",
                            "X-Forwarded-Host": self.headers.get("Host", ""), "Connection": "close"})
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
            """Quiet: the test reads what the browser shows, not an access log."""

    return LoopbackServer(Forward, "https-proxy", tls=context)
