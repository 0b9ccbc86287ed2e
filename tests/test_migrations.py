"""`flask --app app db upgrade` on an empty database creates exactly the models' schema."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from sdr_agent.extensions import db
from tests.conftest import base_config, fresh_postgres_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with fresh_postgres_database("sdr_agent_migrate") as url:
        yield url


def test_upgrade_from_empty_creates_exactly_the_models_schema(empty_database: str) -> None:
    env = {**os.environ, **base_config(empty_database, None)}
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run(
        [str(flask), "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr

    engine = create_engine(empty_database)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert differences == []
    assert tables == set(db.metadata.tables) | {"alembic_version"}


def test_upgrading_a_database_with_history_fills_in_how_long_each_stage_lasted(empty_database: str) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from sdr_agent import create_app

    app = create_app(base_config(empty_database, None))
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO leads (id, phone, phone_hash, language, stage, score, opted_out, handed_off, state, "
                "created_at, updated_at) VALUES (1, '+5511900000001', 'h1', 'pt-BR', 'company', 0, false, false, "
                "'{}', '2026-03-02 13:00:00+00:00', '2026-03-02 13:00:00+00:00')"))
            connection.execute(text("INSERT INTO conversation_threads (id, lead_id, channel, started_at) "
                                    "VALUES (1, 1, 'whatsapp', '2026-03-02 13:00:00+00:00')"))
            for event_id, (from_stage, to_stage, at) in enumerate((
                    ("new", "consent", "2026-03-02 13:00:00+00:00"),
                    ("consent", "name", "2026-03-02 13:00:30+00:00"),
                    ("name", "company", "2026-03-02 13:04:00+00:00")), start=1):
                connection.execute(text(
                    "INSERT INTO stage_events (id, lead_id, thread_id, from_stage, to_stage, channel, at) "
                    "VALUES (:id, 1, 1, :from_stage, :to_stage, 'whatsapp', :at)"),
                    {"id": event_id, "from_stage": from_stage, "to_stage": to_stage, "at": at})
        upgrade()
        with db.engine.connect() as connection:
            stays = connection.execute(text("SELECT from_stage, stay_seconds FROM stage_events ORDER BY id")).all()
        db.engine.dispose()
    assert [(stage, None if seconds is None else round(seconds, 1)) for stage, seconds in stays] == [
        ("new", None), ("consent", 30.0), ("name", 210.0)]
