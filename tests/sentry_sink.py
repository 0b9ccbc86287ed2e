"""A real HTTP server that stands in for Sentry: it stores every envelope the SDK sends."""
from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Callable

from tests.loopback import LoopbackServer

@dataclass(frozen=True)
class EnvelopeItem:
    """One item of an envelope: its header, raw payload and the payload parsed as JSON when it is JSON."""

    type: str
    headers: dict[str, Any]
    raw: bytes
    payload: Any


@dataclass(frozen=True)
class Envelope:
    """One POSTed envelope after decompression."""

    project: str
    headers: dict[str, Any]
    items: list[EnvelopeItem]
    body: bytes
    request_headers: dict[str, str]


@dataclass
class SinkBehaviour:
    """How the sink answers: status code, extra response headers and a delay before answering."""

    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class EnvelopeError(ValueError):
    """The request body is not a valid Sentry envelope."""


def parse_envelope(body: bytes, parse_payloads: bool = True) -> tuple[dict[str, Any], list[EnvelopeItem]]:
    """Split an envelope into its header and items (explicit `length` or newline-terminated payloads)."""
    first_newline = body.find(b"\n")
    header_line = body if first_newline == -1 else body[:first_newline]
    try:
        headers = json.loads(header_line or b"{}")
    except json.JSONDecodeError as exc:
        raise EnvelopeError(f"envelope header is not JSON: {exc}") from None
    items: list[EnvelopeItem] = []
    pos = len(body) if first_newline == -1 else first_newline + 1
    while pos < len(body):
        line_end = body.find(b"\n", pos)
        item_line = body[pos:] if line_end == -1 else body[pos:line_end]
        pos = len(body) if line_end == -1 else line_end + 1
        if not item_line.strip():
            continue
        try:
            item_headers = json.loads(item_line)
        except json.JSONDecodeError as exc:
            raise EnvelopeError(f"item header is not JSON: {exc}") from None
        length = item_headers.get("length")
        if length is not None:
            raw = body[pos:pos + length]
            if len(raw) != length:
                raise EnvelopeError("item payload shorter than its declared length")
            pos += length
            if body[pos:pos + 1] == b"\n":
                pos += 1
        else:
            payload_end = body.find(b"\n", pos)
            raw = body[pos:] if payload_end == -1 else body[pos:payload_end]
            pos = len(body) if payload_end == -1 else payload_end + 1
        payload = _json_or_none(raw) if parse_payloads else None
        items.append(EnvelopeItem(item_headers.get("type", ""), item_headers, raw, payload))
    return headers, items


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def _decompress(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    raise EnvelopeError(f"unsupported Content-Encoding {encoding!r}")


class SentrySink(LoopbackServer):
    """Threaded HTTP server on 127.0.0.1 accepting POST /api/<project>/envelope/.

    With `keep=False` it only counts items by type (see `item_counts`): a sink under benchmark
    load must answer as fast as Sentry would, not parse and hold every payload.
    """

    def __init__(self, keep: bool = True) -> None:
        self.keep = keep
        self._item_counts: Counter[str] = Counter()
        self.behaviour = SinkBehaviour()
        self._envelopes: list[Envelope] = []
        self._rejected: list[str] = []
        self._requests = 0
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        super().__init__(self._handler_class(), "sentry-sink")

    def dsn(self, project: str = "1") -> str:
        """A DSN that points the SDK at this sink."""
        return f"http://publickey@127.0.0.1:{self.port}/{project}"

    def respond_with(self, status: int = 200, delay_s: float = 0.0, headers: dict[str, str] | None = None) -> None:
        """Answer later requests with this status (e.g. 500, 429), extra headers and delay."""
        with self._lock:
            self.behaviour = SinkBehaviour(status=status, delay_s=delay_s, headers=dict(headers or {}))

    @property
    def request_count(self) -> int:
        """How many envelope POSTs arrived, whatever the answer was."""
        with self._lock:
            return self._requests

    @property
    def rejected(self) -> list[str]:
        """Why requests were refused as malformed (should stay empty)."""
        with self._lock:
            return list(self._rejected)

    def envelopes(self) -> list[Envelope]:
        """Every stored envelope, oldest first."""
        with self._lock:
            return list(self._envelopes)

    def items(self, type: str | None = None) -> list[EnvelopeItem]:  # noqa: A002 - mirrors the envelope field name
        """Every stored item, optionally only those of one item type."""
        return [item for env in self.envelopes() for item in env.items if type is None or item.type == type]

    def events(self) -> list[dict[str, Any]]:
        """Error and message events."""
        return [item.payload for item in self.items("event")]

    def transactions(self) -> list[dict[str, Any]]:
        """Transaction events."""
        return [item.payload for item in self.items("transaction")]

    def logs(self) -> list[dict[str, Any]]:
        """Structured log records, unpacked from `log` item containers."""
        return self._container_records("log")

    def metrics(self) -> list[dict[str, Any]]:
        """Metric records, unpacked from `trace_metric` item containers."""
        return self._container_records("trace_metric")

    def check_ins(self) -> list[dict[str, Any]]:
        """Cron monitor check-ins."""
        return [item.payload for item in self.items("check_in")]

    def raw_bytes(self) -> bytes:
        """All decompressed request bodies concatenated, for scanning."""
        return b"\n".join(env.body for env in self.envelopes())

    def item_counts(self) -> dict[str, int]:
        """How many items of each type arrived (counted whether or not envelopes are kept)."""
        with self._lock:
            return dict(self._item_counts)

    def clear(self) -> None:
        """Forget everything received so far."""
        with self._lock:
            self._item_counts.clear()
            self._envelopes.clear()
            self._rejected.clear()
            self._requests = 0

    def wait_for(self, predicate: Callable[[], object], timeout: float = 5.0) -> bool:
        """Wait until `predicate()` is truthy, re-checking on every arrival; False on timeout."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._changed:
                # Short waits: an arrival between the check and the wait only costs one tick.
                self._changed.wait(min(remaining, 0.05))
        return True

    def _container_records(self, item_type: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for item in self.items(item_type):
            if isinstance(item.payload, dict):
                records.extend(item.payload.get("items", []))
        return records

    def _receive(self, project: str, body: bytes, request_headers: dict[str, str]) -> SinkBehaviour:
        with self._changed:
            self._requests += 1
            behaviour = self.behaviour
        try:
            data = _decompress(body, request_headers.get("content-encoding", ""))
            headers, items = parse_envelope(data, parse_payloads=self.keep)
        except (EnvelopeError, OSError, EOFError, zlib.error) as exc:
            with self._changed:
                self._rejected.append(str(exc))
                self._changed.notify_all()
            return SinkBehaviour(status=400, delay_s=behaviour.delay_s)
        with self._changed:
            self._item_counts.update(item.type for item in items)
            if self.keep:
                self._envelopes.append(Envelope(project, headers, items, data, request_headers))
            self._changed.notify_all()
        return behaviour

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            """Stores envelopes POSTed to /api/<project>/envelope/."""

            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                """Store one envelope and answer as configured."""
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                parts = self.path.split("?", 1)[0].strip("/").split("/")
                if len(parts) != 3 or parts[0] != "api" or parts[2] != "envelope":
                    self._answer(404, {})
                    return
                request_headers = {k.lower(): v for k, v in self.headers.items()}
                behaviour = sink._receive(parts[1], body, request_headers)
                if behaviour.delay_s:
                    time.sleep(behaviour.delay_s)
                self._answer(behaviour.status, behaviour.headers)

            def _answer(self, status: int, headers: dict[str, str]) -> None:
                payload = b"{}"
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up waiting (timeout tests): there is nobody left to answer.
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                """Keep test output clean: the sink's own access log is noise."""

        return Handler
