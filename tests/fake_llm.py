"""An OpenAI-compatible chat-completions server on 127.0.0.1 that answers as scripted: the model in tests."""
from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from tests.loopback import LoopbackServer

HANG_SECONDS = 30.0  # longer than any budget: the client must give up on its own


@dataclass(frozen=True)
class Answer:
    """One scripted answer: HTTP status, delay, and the assistant message's content (or a refusal)."""

    status: int = 200
    delay_s: float = 0.0
    content: str | None = None
    refusal: str | None = None
    finish_reason: str = "stop"
    raw_body: bytes | None = None  # sent as is instead of a completion (a broken body)


def commands(*items: dict[str, Any], delay_s: float = 0.0) -> Answer:
    """A well-formed structured answer holding these commands."""
    return Answer(delay_s=delay_s, content=json.dumps({"commands": list(items)}))


def malformed() -> Answer:
    """A completion whose content is not the JSON asked for."""
    return Answer(content='{"commands": [{"command": "set_slot", "slot": ')


def refused() -> Answer:
    """The model declines to answer (OpenAI's structured-output refusal)."""
    return Answer(content=None, refusal="I can't help with that.")


def transcript(text: str, delay_s: float = 0.0) -> Answer:
    """What /audio/transcriptions hears in a voice note."""
    return Answer(content=text, delay_s=delay_s)


def status(code: int) -> Answer:
    """An HTTP error (429 rate limit, 500 server error…)."""
    return Answer(status=code)


def hang() -> Answer:
    """No answer for far longer than any budget."""
    return Answer(delay_s=HANG_SECONDS, content=json.dumps({"commands": []}))


@dataclass
class Request:
    """One chat-completions request as received."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt_text(self) -> str:
        """Every message's content joined: what the model was told."""
        return "\n".join(str(message.get("content") or "") for message in self.body.get("messages", []))


@dataclass
class FakeModel:
    """Start, point SDR_LLM_BASE_URL at `base_url`, queue answers with `then`, read `requests`."""

    default: Callable[[Request], Answer] = field(default=lambda request: commands({"command": "unclear"}))
    requests: list[Request] = field(default_factory=list)
    queue: deque[Answer] = field(default_factory=deque)
    transcripts: deque[Answer] = field(default_factory=deque)  # answers of /audio/transcriptions, in order
    media: dict[str, bytes] = field(default_factory=dict)  # GET /media/<name>, as Twilio serves MediaUrl
    media_auth: str | None = None  # the Authorization header media downloads must carry
    downloads: list[dict[str, str]] = field(default_factory=list)  # headers of every media GET
    # Called with every POST (chat or transcription) as it arrives, while the service waits for the answer.
    observe: Callable[[Request], None] = field(default=lambda request: None)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: LoopbackServer | None = None

    def then(self, *answers: Answer) -> "FakeModel":
        """Answer the next requests with these, in order; then the default."""
        self.queue.extend(answers)
        return self

    @property
    def base_url(self) -> str:
        """The /v1 URL to give the client."""
        assert self._server is not None
        return f"{self._server.url}/v1"

    def start(self) -> "FakeModel":
        """Serve in the background."""
        self._server = LoopbackServer(self._handler_class(), "fake-llm").start()
        return self

    def stop(self) -> None:
        """Close the socket (sleeping handler threads are daemons)."""
        if self._server is not None:
            self._server.stop()

    def _next(self, request: Request) -> Answer:
        with self._lock:
            self.requests.append(request)
            scripted = self.queue.popleft() if self.queue else None
        return scripted if scripted is not None else self.default(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        model = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
                pass  # quiet test output

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                headers = {k.lower(): v for k, v in self.headers.items()}
                model.downloads.append(headers)
                body = model.media.get(self.path.rsplit("/", 1)[-1])
                if model.media_auth is not None and headers.get("authorization") != model.media_auth:
                    self._send(401, b"{}")
                elif body is None:
                    self._send(404, b"{}")
                else:
                    self._send(200, body, "audio/ogg")

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.endswith("/audio/transcriptions"):
                    self._transcribe(raw)
                    return
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw or b"{}"))
                model.observe(request)
                answer = model._next(request)
                time.sleep(answer.delay_s)
                if answer.status != 200:
                    body = json.dumps({"error": {"message": "scripted failure", "type": "server_error",
                                                 "code": str(answer.status)}}).encode()
                    self._send(answer.status, body)
                elif answer.raw_body is not None:
                    self._send(200, answer.raw_body)
                else:
                    self._send(200, json.dumps(_completion(request, answer)).encode())

            def _transcribe(self, raw: bytes) -> None:
                request = Request(self.path, {k.lower(): v for k, v in self.headers.items()}, {"bytes": len(raw)})
                model.observe(request)
                with model._lock:
                    model.requests.append(request)
                    answer = model.transcripts.popleft() if model.transcripts else Answer(content="")
                time.sleep(answer.delay_s)
                if answer.status != 200:
                    self._send(answer.status, b'{"error": {"message": "scripted failure"}}')
                else:
                    self._send(200, json.dumps({"text": answer.content or ""}).encode())

            def _send(self, code: int, body: bytes, content_type: str = "application/json") -> None:
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    if code == 429:
                        self.send_header("Retry-After", "0")
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        return Handler


def _completion(request: Request, answer: Answer) -> dict[str, Any]:
    prompt_tokens = max(1, len(request.prompt_text) // 4)
    completion_tokens = max(1, len(answer.content or answer.refusal or "") // 4)
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.body.get("model", "fake"),
        "choices": [{"index": 0, "finish_reason": answer.finish_reason, "logprobs": None,
                     "message": {"role": "assistant", "content": answer.content, "refusal": answer.refusal}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
