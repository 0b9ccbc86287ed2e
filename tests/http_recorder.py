"""A tiny HTTP server on 127.0.0.1 that records requests and answers as told: the far end of our outbound calls."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from tests.loopback import LoopbackServer

Responder = Callable[["Recorded"], tuple[int, dict[str, str], bytes]]


@dataclass
class Recorded:
    """One request as received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0  # what we answered (0 until answered)


@dataclass
class Script:
    """Answers to give first, in order; then the normal answer."""

    queue: deque[tuple[int, float]] = field(default_factory=deque)  # (status, delay before answering)


class HttpRecorder(LoopbackServer):
    """Start, point a client at `url`, then read `requests`."""

    def __init__(self, respond: Responder) -> None:
        self._respond = respond
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self.script = Script()
        super().__init__(self._handler_class(), "http-recorder")

    def then(self, status: int, delay_s: float = 0.0) -> "HttpRecorder":
        """Answer the next request with `status` (after `delay_s`) instead of the normal answer."""
        self.script.queue.append((status, delay_s))
        return self

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                recorded = Recorded("POST", self.path, {k: v for k, v in self.headers.items()}, self.rfile.read(length))
                with recorder._lock:
                    recorder.requests.append(recorded)
                    scripted = recorder.script.queue.popleft() if recorder.script.queue else None
                if scripted is not None:
                    status, delay = scripted
                    time.sleep(delay)
                    if status >= 300:
                        recorded.status = status
                        self._answer(status, {"Content-Type": "application/json"},
                                     b'{"code": 20429, "message": "scripted failure", "status": %d}' % status)
                        return
                status, headers, body = recorder._respond(recorded)
                recorded.status = status
                self._answer(status, headers, body)

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                try:
                    self.send_response(status)
                    for name, value in {**headers, "Content-Length": str(len(body))}.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return

        return Handler


def answer_ok(_request: Recorded) -> tuple[int, dict[str, str], bytes]:
    """A receiver that accepts everything."""
    return 200, {"Content-Type": "text/plain"}, b"ok"
