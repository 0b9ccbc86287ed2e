"""The shipped gunicorn settings, run for real: slow clients cannot starve the service, and the
access log keeps paths only (no query strings, no link tokens)."""
from __future__ import annotations

import socket
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from bench.environment import service_env, throwaway_database
from bench.server import GunicornServer, gunicorn_setting
from sdr_agent.config import PROJECT_ROOT
from tests.conftest import pg_server_url

SLOW_SOCKETS = 24  # twice the count that made /healthz time out under 2 × 4 threads
HEALTH_WAIT_S = 3.0
# The service's modules, phone metadata, SQLAlchemy and the SDKs come to well over this many objects.
FROZEN_AT_LEAST = 100_000


@pytest.fixture(scope="module")
def gunicorn(redis_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GunicornServer]:
    """The app under gunicorn.conf.py with its default workers and threads, in production mode."""
    with throwaway_database(pg_server_url(), redis_server_url, prefix="sdr_gunicorn_test") as database_url:
        env = service_env(database_url, redis_server_url)
        env.pop("WEB_CONCURRENCY", None)
        env.pop("GUNICORN_THREADS", None)
        log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
        with GunicornServer("app:app", env, log) as server:
            yield server


def test_clients_that_never_finish_their_headers_do_not_starve_the_health_check(gunicorn: GunicornServer) -> None:
    slow: list[socket.socket] = []
    try:
        for _ in range(SLOW_SOCKETS):
            sock = socket.create_connection(("127.0.0.1", gunicorn.port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # and then nothing more
            slow.append(sock)
        time.sleep(1.0)  # long enough for every worker thread to have picked a slow socket up
        started = time.monotonic()
        with urllib.request.urlopen(f"{gunicorn.url}/healthz", timeout=HEALTH_WAIT_S) as response:
            assert response.status == 200
        assert time.monotonic() - started < HEALTH_WAIT_S
    finally:
        for sock in slow:
            sock.close()


def test_the_access_log_keeps_paths_and_nothing_an_operator_typed(gunicorn: GunicornServer) -> None:
    secrets_in_urls = ("ana.souza%40example.com", "ana.souza@example.com", "5511987654321",
                       "tok3n-abcdefghijklmnopqrstuvwxyz0123456")
    for path in ("/admin/leads?q=ana.souza%40example.com&phone=5511987654321",
                 "/bookings/tok3n-abcdefghijklmnopqrstuvwxyz0123456.ics"):
        request = urllib.request.Request(f"{gunicorn.url}{path}",
                                         headers={"Referer": f"{gunicorn.url}/admin/leads?q=5511987654321"})
        try:
            urllib.request.urlopen(request, timeout=5).close()
        except urllib.error.HTTPError as error:  # 302 to the login page or 404 for the unknown booking
            error.close()
    time.sleep(0.5)  # the access line is written after the response
    log = Path(gunicorn.log_path).read_text(encoding="utf-8", errors="replace")
    assert '"GET /admin/leads HTTP/1.1"' in log
    assert '"GET /bookings/….ics HTTP/1.1"' in log
    for value in secrets_in_urls:
        assert value not in log


def test_workers_start_with_the_preloaded_service_frozen(redis_server_url: str, tmp_path: Path) -> None:
    # Unfrozen, a full collection in a worker walks every object the master loaded, 100-160 ms with the
    # GIL held: the requests in flight all wait (docs/benchmarks.md, "Collector pauses").
    with throwaway_database(pg_server_url(), redis_server_url, prefix="sdr_gc_test") as database_url:
        env = service_env(database_url, redis_server_url)
        with GunicornServer("tests.gc_probe_app:app", env, tmp_path / "gunicorn.log") as server:
            counts = set()
            for _ in range(8):  # keep-alive off: each request may land on either worker
                with urllib.request.urlopen(f"{server.url}/", timeout=5) as response:
                    counts.add(int(response.read()))
    assert min(counts) > FROZEN_AT_LEAST, counts


def test_the_render_blueprint_states_the_shipped_workers_and_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.delenv("GUNICORN_THREADS", raising=False)
    blueprint = yaml.safe_load((PROJECT_ROOT / "render.yaml").read_text(encoding="utf-8"))
    [web] = [service for service in blueprint["services"] if service["type"] == "web"]
    stated = {var["key"]: var.get("value") for var in web["envVars"] if "key" in var}
    assert int(stated["WEB_CONCURRENCY"]) == gunicorn_setting("workers") == 2
    # Enough threads for 64 leads waiting on a language model at once, with room for everything else.
    assert int(stated["GUNICORN_THREADS"]) == gunicorn_setting("threads") == 64
