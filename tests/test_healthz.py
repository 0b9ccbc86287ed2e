"""GET /healthz: 200 while the database answers, 503 when it does not; Redis reported."""
from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from sdr_agent import create_app
from tests.conftest import base_config


def test_healthy_without_redis(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "db": "ok", "redis": "absent"}


@pytest.mark.parametrize(("database_url", "redis_url"), [("postgresql", "redis")], indirect=True)
def test_healthy_with_postgresql_and_redis(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok", "db": "ok", "redis": "ok"}


def test_database_down_is_503() -> None:
    # Port 1 on loopback: nothing listens, so the connection is refused at once.
    app = create_app(base_config("postgresql+psycopg://postgres@127.0.0.1:1/none", None))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "db": "error", "redis": "absent"}


def test_redis_down_is_reported_but_not_fatal(database_url: str) -> None:
    app = create_app(base_config(database_url, "redis://127.0.0.1:1/0"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["redis"] == "error"
