"""A threaded HTTP server on 127.0.0.1 with a free port, run in the background: the base of the suite's fakes."""
from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LoopbackServer:
    """Serve `handler` on 127.0.0.1; `start()` in a thread, `stop()` closes the socket."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str,
                 tls: ssl.SSLContext | None = None) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._scheme = "https" if tls else "http"
        if tls:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        # Handler threads may be sleeping on purpose (slow-answer tests); stopping must not wait for them.
        self._server.daemon_threads = True
        self._server.block_on_close = False
        # A short poll interval keeps stop() (and so every test's teardown) fast.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=name, daemon=True)

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"{self._scheme}://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
