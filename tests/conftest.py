"""Fixtures: app → client → signed webhook helpers, over SQLite/PostgreSQL and with/without Redis.

With CI=true a missing PostgreSQL or Redis fails the run; locally it skips those variants.
"""
from __future__ import annotations

import os
import secrets
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.test import TestResponse

from sdr_agent import create_app
from sdr_agent.extensions import db
from sdr_agent.qualification import Flow
from sdr_agent.simulator import EXAMPLE_ACCOUNT_SID, WebhookClient, sign, whatsapp_form
from sdr_agent.worker.dispatch import InlineDispatcher
from tests.http_recorder import HttpRecorder, answer_ok

if TYPE_CHECKING:
    from tests.fake_twilio import FakeTwilio

CI = os.environ.get("CI", "").lower() == "true"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PHONE_SECRET = "test-phone-hash-secret-0123456789abcdef"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
TABLES = ("operator_sessions", "bookings", "outbox", "calls", "stage_events", "messages", "conversation_threads", "leads")

BOTH_DATABASES = pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
BACKEND_MATRIX = pytest.mark.parametrize(
    ("database_url", "redis_url"),
    [("sqlite", "absent"), ("sqlite", "redis"), ("postgresql", "absent"), ("postgresql", "redis")],
    indirect=True,
)


def unavailable(service: str, reason: str) -> None:
    """Fail in CI, skip locally: a missing service must never pass silently in CI."""
    message = f"{service} unavailable: {reason}"
    if CI:
        pytest.fail(message)
    pytest.skip(message)


def pg_server_url() -> str:
    """The PostgreSQL server the tests use: TEST_DATABASE_URL, else the local default."""
    return os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG


def require_postgres(server_url: str) -> None:
    """Fail (in CI) or skip unless the PostgreSQL server at this URL answers."""
    engine = create_engine(server_url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        unavailable("PostgreSQL", type(exc).__name__)
    finally:
        engine.dispose()


@contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[str]:
    """Create an empty database on the test PostgreSQL server; drop it afterwards."""
    base = make_url(pg_server_url())
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any failure means "no PostgreSQL here"
        admin.dispose()
        unavailable("PostgreSQL", type(exc).__name__)
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """URL of a fresh, migrated database on the test PostgreSQL server, dropped at the end."""
    with fresh_postgres_database("sdr_agent_test") as url:
        migrate_to_head(url)
        yield url


def migrate_to_head(database_url: str) -> None:
    """Run the real Alembic migrations against a database."""
    from flask_migrate import upgrade

    app = create_app(base_config(database_url, None))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """URL of the test Redis."""
    url = os.environ.get("TEST_REDIS_URL") or DEFAULT_REDIS
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable("Redis", type(exc).__name__)
    return url


@pytest.fixture(params=["sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """A clean database for one test; parametrize indirectly with sqlite/postgresql."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'sdr.db'}"
    url = request.getfixturevalue("postgres_server_url")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture(params=["absent"])
def redis_url(request: pytest.FixtureRequest) -> str | None:
    """A flushed Redis, or None; parametrize indirectly with absent/redis."""
    if request.param == "absent":
        return None
    return flushed_redis(request.getfixturevalue("redis_server_url"))


def flushed_redis(url: str) -> str:
    """Empty the Redis database at `url` (reply caches, locks, rate-limit windows) and return the URL."""
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


def base_config(database_url: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    """Environment for a test app: explicit values for everything a developer's shell might set."""
    config = {
        "SDR_ENV": "development",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url or "",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_ACCOUNT_SID": EXAMPLE_ACCOUNT_SID,
        "PHONE_HASH_SECRET": PHONE_SECRET,
        "SECRET_KEY": "test-secret-key-0123456789abcdef0123",
        "PUBLIC_BASE_URL": "",
        "SDR_DEFAULT_LANGUAGE": "pt-BR",
        "SENTRY_DSN": "",
        "SDR_FLOW_FILE": "",
        "SDR_KNOWLEDGE_FILE": "",
        "SDR_SWEEP_INTERVAL_SECONDS": "0",
    }
    config.update(extra)
    return config


def production_env(**extra: str) -> dict[str, str]:
    """A complete, valid SDR_ENV=production environment (secrets long enough, nothing a shipped default)."""
    env = {
        "SDR_ENV": "production",
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "PHONE_HASH_SECRET": PHONE_SECRET,
        "SECRET_KEY": "production-secret-key-0123456789abcdef",
        "DATABASE_URL": "postgres://u:p@db.internal:5432/sdr",
        "REDIS_URL": "redis://kv.internal:6379",
        "PUBLIC_BASE_URL": "https://sdr.example.com",
    }
    env.update(extra)
    return env


@pytest.fixture
def app_config(database_url: str, redis_url: str | None) -> dict[str, str]:
    """Overridable environment of the `app` fixture."""
    return base_config(database_url, redis_url)


@pytest.fixture
def app(app_config: dict[str, str]) -> Iterator[Flask]:
    """The real app on a clean database."""
    app = make_app(app_config)
    yield app
    close_app(app)


def make_app(config: dict[str, str]) -> Flask:
    """The real app on `config`, its schema created when the database is a fresh SQLite file."""
    app = create_app(config)
    app.config["TESTING"] = True
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            db.create_all()
    return app


def close_app(app: Flask) -> None:
    """Finish the app's background work and close its database and Redis connections."""
    finish_background_work(app)
    with app.app_context():
        db.engine.dispose()
    redis_client = app.extensions["sdr_redis"]
    if redis_client is not None:
        redis_client.close()


def finish_background_work(app: Flask) -> None:
    """Wait for in-process deliveries, so none runs against a database the test is tearing down."""
    dispatcher = app.extensions["sdr_dispatcher"]
    if isinstance(dispatcher, InlineDispatcher):
        dispatcher.join()


@pytest.fixture
def webhooks(app: Flask) -> WebhookClient:
    """Signed webhooks into the app, as Twilio sends them (WhatsApp messages and calls)."""
    return WebhookClient(app)


@pytest.fixture
def flow(app: Flask) -> Flow:
    """The app's loaded qualification flow."""
    return app.extensions["sdr_flow"]


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Flask test client of the app."""
    return app.test_client()


class Clock:
    """A settable clock injected into the conversation service."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: Flask) -> Clock:
    """Controls the time the conversation service sees."""
    fake = Clock()
    app.extensions["sdr_conversation"].clock = fake
    return fake


def signed_post(client: FlaskClient, path: str, form: dict[str, str], url: str | None = None, **headers: str) -> TestResponse:
    """POST a form with the X-Twilio-Signature Twilio would compute for `url` (and, as Twilio always
    does, the AccountSid, unless the form names one)."""
    form = {"AccountSid": EXAMPLE_ACCOUNT_SID, **form}
    signed_url = url or f"http://localhost{path}"
    all_headers = {"X-Twilio-Signature": sign(AUTH_TOKEN, signed_url, form), **headers}
    return client.post(path, data=form, headers=all_headers)


@pytest.fixture
def send(client: FlaskClient) -> Callable[..., TestResponse]:
    """Send one signed WhatsApp message as a lead: send(phone, text, sid=None, **fields)."""

    def _send(phone: str, text: str, sid: str | None = None, **fields: str) -> TestResponse:
        form = whatsapp_form(phone, text, sid=sid)
        form.update(fields)
        return signed_post(client, "/twilio/whatsapp", form)

    return _send


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app behind a real threaded HTTP server on loopback; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def fake_twilio() -> Iterator["FakeTwilio"]:
    """A local stand-in for Twilio's Messages API, accepting this suite's credentials."""
    from tests.fake_twilio import FakeTwilio

    fake = FakeTwilio(base_config("", None)["TWILIO_ACCOUNT_SID"], AUTH_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def outbound(app: Flask, fake_twilio: "FakeTwilio", clock: Clock) -> Flask:
    """The app sending WhatsApp messages to the fake Twilio, with deliveries on the test clock."""
    from tests.fake_twilio import use_fake_twilio

    use_fake_twilio(app, fake_twilio)
    app.extensions["sdr_outbound"].clock = clock
    return app


@pytest.fixture
def receiver() -> Iterator[HttpRecorder]:
    """A webhook receiver on loopback (CRM, handoff, calendar) that answers 200 and records every request."""
    server = HttpRecorder(answer_ok).start()
    yield server
    server.stop()
