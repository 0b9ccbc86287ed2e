"""A kept-alive HTTP/1.1 connection that POSTs envelopes to the Sentry ingest, on plain sockets.

The SDK sends each envelope through urllib3 and http.client, which the SDK's own stdlib integration
also instruments: about 0.8 ms of CPU per upload, the largest part of what a traced message costs.
One request line, a few headers and a status line read back cost a tenth of that. Proxies and client
certificates stay with the SDK's urllib3 path (the transport decides).
"""
from __future__ import annotations

import socket
import ssl
import threading
from typing import Mapping
from urllib.parse import urlsplit

MAX_HEADER_LINES = 100


class UploadResponse:
    """What the SDK's transport reads from a response: status, headers (lower-cased names) and body."""

    def __init__(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.status = status
        self.headers = _Headers(headers)
        self.data = data

    def close(self) -> None:
        """Nothing to release: the body was read whole."""


class _Headers(dict[str, str]):
    def get(self, name: str, default: str | None = None) -> str | None:  # type: ignore[override]
        return super().get(name.lower(), default)


class EnvelopeConnection:
    """One connection to the ingest, opened on first use and kept alive; one request at a time."""

    def __init__(self, timeout_s: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self._timeout_s = timeout_s
        self._ssl_context = ssl_context
        self._lock = threading.Lock()
        self._address: tuple[str, int, bool] | None = None
        self._socket: socket.socket | None = None
        self._buffered = None

    def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> UploadResponse:
        """POST `body` to `url`; a kept-alive connection the server had closed is replaced once."""
        parts = urlsplit(url)
        secure = parts.scheme == "https"
        address = (parts.hostname or "", parts.port or (443 if secure else 80), secure)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        host = parts.netloc.rpartition("@")[2]
        request = self._request_bytes(target, host, body, headers)
        with self._lock:
            reused = self._socket is not None and self._address == address
            if not reused:
                self._open(address)
            try:
                return self._exchange(request)
            except OSError:
                self._close()
                if not reused:
                    raise
            # The server closed the idle connection since the last upload: one new connection.
            self._open(address)
            try:
                return self._exchange(request)
            except OSError:
                self._close()
                raise

    def close(self) -> None:
        """Close the connection (the next upload opens a new one)."""
        with self._lock:
            self._close()

    @staticmethod
    def _request_bytes(target: str, host: str, body: bytes, headers: Mapping[str, str]) -> bytes:
        lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
        lines += [f"{name}: {value}" for name, value in headers.items()
                  if name.lower() not in ("host", "content-length")]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def _open(self, address: tuple[str, int, bool]) -> None:
        self._close()
        host, port, secure = address
        sock = socket.create_connection((host, port), timeout=self._timeout_s)
        try:
            # One write per request, answered at once: without it the ingest's ACK may wait 40 ms.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if secure:
                context = self._ssl_context or ssl.create_default_context()
                sock = context.wrap_socket(sock, server_hostname=host)
        except BaseException:
            sock.close()
            raise
        self._socket = sock
        self._address = address
        self._buffered = sock.makefile("rb")

    def _exchange(self, request: bytes) -> UploadResponse:
        assert self._socket is not None and self._buffered is not None
        self._socket.sendall(request)
        reader = self._buffered
        status_line = reader.readline(65537)
        if not status_line:
            raise ConnectionResetError("the ingest closed the connection without answering")
        parts = status_line.split(None, 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
            raise ConnectionError("not an HTTP response")
        status = int(parts[1])
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADER_LINES):
            line = reader.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        data = self._read_body(reader, headers)
        if headers.get("connection", "").lower() == "close" or parts[0] == b"HTTP/1.0":
            self._close()
        return UploadResponse(status, headers, data)

    def _read_body(self, reader: object, headers: dict[str, str]) -> bytes:
        read = reader.read  # type: ignore[attr-defined]
        readline = reader.readline  # type: ignore[attr-defined]
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int(readline(65537).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(read(size))
                readline(65537)
        if "content-length" in headers:
            return read(int(headers["content-length"]))
        # Neither: the body ends when the server closes the connection.
        headers["connection"] = "close"
        return read()

    def _close(self) -> None:
        for closable in (self._buffered, self._socket):
            if closable is not None:
                try:
                    closable.close()
                except OSError:
                    pass
        self._buffered = None
        self._socket = None
        self._address = None
