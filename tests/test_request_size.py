"""Oversized bodies get 413 before anything reads them: declared or chunked, signed or not, under gunicorn."""
from __future__ import annotations

import http.client
import socket
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bench.environment import AUTH_TOKEN as SERVICE_TOKEN, PUBLIC_BASE_URL, throwaway_database, service_env
from bench.server import GunicornServer
from bench.workload import WHATSAPP_PATH, signed_line
from tests.conftest import pg_server_url, signed_post
from tests.dbcheck import Lead, count

LIMIT = 64 * 1024
PHONE = "+5511987650055"
WAIT_S = 5.0


def test_a_declared_oversized_body_is_refused_before_the_signature_is_checked(app: Flask, client: FlaskClient) -> None:
    form = {"From": f"whatsapp:{PHONE}", "MessageSid": "SM" + "5" * 32, "Body": "x" * (LIMIT + 1)}
    assert signed_post(client, "/twilio/whatsapp", form).status_code == 413
    # Forged or missing signatures would be 403 if the form were read to check them: it is not.
    assert client.post("/twilio/whatsapp", data=form, headers={"X-Twilio-Signature": "forged"}).status_code == 413
    assert client.post("/twilio/voice/gather?turn=1", data=form).status_code == 413
    assert client.post("/admin/login", data={"password": "x" * (LIMIT + 1)}).status_code == 413
    assert count(app, Lead) == 0


def test_a_body_just_under_the_limit_is_read(client: FlaskClient) -> None:
    form = {"From": f"whatsapp:{PHONE}", "MessageSid": "SM" + "6" * 32, "Body": "x" * (LIMIT - 200)}
    assert signed_post(client, "/twilio/whatsapp", form).status_code == 200


@pytest.fixture(scope="module")
def gunicorn(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GunicornServer]:
    """The real app under gunicorn.conf.py in production mode, on a migrated throwaway PostgreSQL database."""
    with throwaway_database(pg_server_url(), redis_server_url, prefix="sdr_size_test") as database_url:
        env = service_env(database_url, redis_server_url) | {"WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "2"}
        log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
        with GunicornServer("app:app", env, log) as server:
            yield server


def signed_body(text: str) -> tuple[str, bytes]:
    """(X-Twilio-Signature, urlencoded form) of a WhatsApp message signed as the service expects."""
    signature, body = signed_line(SERVICE_TOKEN, PUBLIC_BASE_URL, PHONE, text).rstrip("\n").split("\t")
    return signature, body.encode()


def post_chunked(server: GunicornServer, signature: str, body: bytes, chunk: int = 8192) -> tuple[int, bytes]:
    """POST the body with Transfer-Encoding: chunked and no Content-Length; (status, response body)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT_S)
    try:
        return _send_chunks(connection, signature, body, chunk)
    finally:
        connection.close()


def _send_chunks(connection: http.client.HTTPConnection, signature: str, body: bytes, chunk: int) -> tuple[int, bytes]:
    connection.putrequest("POST", WHATSAPP_PATH)
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("X-Twilio-Signature", signature)
    connection.putheader("Transfer-Encoding", "chunked")
    connection.endheaders()
    for start in range(0, len(body), chunk):
        piece = body[start:start + chunk]
        connection.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
    connection.send(b"0\r\n\r\n")
    response = connection.getresponse()
    return response.status, response.read()


def test_gunicorn_answers_413_to_a_declared_size_without_waiting_for_the_body(gunicorn: GunicornServer) -> None:
    with socket.create_connection(("127.0.0.1", gunicorn.port), timeout=WAIT_S) as sock:
        sock.sendall(
            f"POST {WHATSAPP_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Twilio-Signature: forged\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10000000\r\n\r\n".encode()
        )
        # Not one byte of the 10 MB is sent: an answer proves nothing waited to read or parse it.
        with sock.makefile("rb") as answer:
            status_line = answer.readline()
    assert status_line.startswith(b"HTTP/1.1 413"), status_line


def test_gunicorn_refuses_an_oversized_chunked_body_even_when_signed(gunicorn: GunicornServer) -> None:
    signature, body = signed_body("x" * (LIMIT + 1024))
    status, answer = post_chunked(gunicorn, signature, body)
    assert status == 413, answer  # not a 403 from checking the signature of a truncated form


def test_gunicorn_accepts_a_small_chunked_body(gunicorn: GunicornServer) -> None:
    signature, body = signed_body("Oi")
    status, answer = post_chunked(gunicorn, signature, body)
    assert status == 200, answer
    assert answer.startswith(b"<?xml") and b"<Message>" in answer
