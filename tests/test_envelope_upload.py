"""Envelope uploads over one kept-alive socket: reuse, a connection the ingest closed, the answers the SDK reads."""
from __future__ import annotations

import socket
import threading
from typing import Callable, Iterator

import pytest
import sentry_sdk

from sdr_agent import telemetry
from sdr_agent.config import Settings
from sdr_agent.envelope_upload import EnvelopeConnection
from tests.sentry_fixtures import sentry_dsn, sentry_sink  # noqa: F401 - pytest fixtures
from tests.sentry_sink import SentrySink

Answer = Callable[[int], bytes]  # request number -> raw response bytes
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}"


class RawIngest:
    """A TCP server answering each request with scripted bytes; counts connections and requests."""

    def __init__(self, answer: Answer, close_after_each: bool = False) -> None:
        self.answer = answer
        self.close_after_each = close_after_each
        self.connections = 0
        self.bodies: list[bytes] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/1/envelope/"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        with conn, reader:
            while True:
                line = reader.readline()
                if not line:
                    return
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                self.bodies.append(reader.read(length))
                conn.sendall(self.answer(len(self.bodies)))
                if self.close_after_each:
                    return

    def stop(self) -> None:
        self._server.close()


@pytest.fixture
def connection() -> Iterator[EnvelopeConnection]:
    upload = EnvelopeConnection(timeout_s=5)
    yield upload
    upload.close()


def test_uploads_share_one_kept_alive_connection(connection: EnvelopeConnection) -> None:
    ingest = RawIngest(lambda _n: OK)
    try:
        for number in range(3):
            response = connection.post(ingest.url(), f"envelope {number}".encode(), {"Content-Type": "x"})
            assert (response.status, response.data) == (200, b"{}")
    finally:
        ingest.stop()
    assert ingest.bodies == [b"envelope 0", b"envelope 1", b"envelope 2"]
    assert ingest.connections == 1


def test_a_connection_the_ingest_closed_is_replaced_once(connection: EnvelopeConnection) -> None:
    ingest = RawIngest(lambda _n: OK, close_after_each=True)
    try:
        for _ in range(2):
            assert connection.post(ingest.url(), b"e", {}).status == 200
    finally:
        ingest.stop()
    assert len(ingest.bodies) == 2 and ingest.connections == 2


def test_rate_limit_headers_and_chunked_bodies_are_read(connection: EnvelopeConnection) -> None:
    chunked = (b"HTTP/1.1 429 Too Many Requests\r\nX-Sentry-Rate-Limits: 60:transaction:key\r\n"
               b"Retry-After: 60\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
    ingest = RawIngest(lambda n: chunked if n == 1 else OK)
    try:
        limited = connection.post(ingest.url(), b"e", {})
        assert connection.post(ingest.url(), b"e", {}).status == 200  # the connection is still usable
    finally:
        ingest.stop()
    assert (limited.status, limited.data) == (429, b"{}")
    assert limited.headers.get("x-sentry-rate-limits") == "60:transaction:key"
    assert limited.headers.get("Retry-After") == "60"
    assert ingest.connections == 1


def test_a_refused_connection_raises(connection: EnvelopeConnection) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(OSError):
        connection.post(f"http://127.0.0.1:{port}/api/1/envelope/", b"e", {})


def test_the_sdk_uploads_through_it_gzipped_and_honours_a_rate_limit(sentry_sink: SentrySink,  # noqa: F811
                                                                     sentry_dsn: str) -> None:  # noqa: F811
    telemetry.shutdown_telemetry()
    try:
        settings = Settings.from_env({"SENTRY_RELEASE": "test-release", "SENTRY_DSN": sentry_dsn})
        assert telemetry.init_telemetry(settings, "test")
        transport = sentry_sdk.get_client().transport
        assert isinstance(transport, telemetry.BackingOffTransport) and transport._upload is not None
        sentry_sdk.capture_message("first")
        telemetry.flush_telemetry(5)
        assert sentry_sink.wait_for(lambda: sentry_sink.events(), 5)
        [envelope] = sentry_sink.envelopes()
        assert envelope.request_headers["content-encoding"] == "gzip"
        assert envelope.request_headers["x-sentry-auth"].startswith("Sentry ")

        sentry_sink.respond_with(429, headers={"X-Sentry-Rate-Limits": "60:error:key"})
        sentry_sdk.capture_message("limited")
        telemetry.flush_telemetry(5)
        assert sentry_sink.wait_for(lambda: sentry_sink.request_count == 2, 5)
        sentry_sink.respond_with(200)
        sentry_sdk.capture_message("dropped while limited")
        telemetry.flush_telemetry(5)
        # Dropped before it was sent (at most a client report counting the drop went out).
        assert [e.get("message") for e in sentry_sink.events()].count("dropped while limited") == 0
        assert [item.type for env in sentry_sink.envelopes() for item in env.items].count("event") == 2
    finally:
        telemetry.shutdown_telemetry()
