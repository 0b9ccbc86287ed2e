"""Data rights: erase leaves no personal data anywhere (but the funnel counts), export shows everything, release."""
from __future__ import annotations

import json
from datetime import date
from typing import Any

import redis
from flask import Flask
from sqlalchemy import JSON, String, Text, create_engine, inspect, select, text

from sdr_agent.admin.filters import Period
from sdr_agent.admin.funnel import daily_outcomes, funnel, funnel_steps
from sdr_agent.extensions import db
from sdr_agent.models import Lead
from sdr_agent.simulator import WebhookClient
from tests.conftest import BACKEND_MATRIX, finish_background_work

PHONE = "+5511987650055"
OTHER = "+5511987650066"
NAME, COMPANY, EMAIL = "Beatriz Albuquerque", "Zentrix Sistemas", "beatriz@zentrix.com.br"
NEED = "Queremos automatizar a triagem dos nossos leads"
SCRIPT = ["oi", "sim", NAME, COMPANY, "1", NEED, "50 mil", "este mês", EMAIL, "2"]  # qualified, then books


def personal_forms() -> list[str]:
    digits = PHONE.lstrip("+")
    return [PHONE, digits, digits[2:], NAME, "Albuquerque", COMPANY, EMAIL, NEED]


def everything_stored(app: Flask) -> str:
    """Every text and JSON value of every table, found by reflecting the schema (not a list of columns)."""
    engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    found: list[str] = []
    with engine.connect() as connection:
        inspector = inspect(connection)
        for table in inspector.get_table_names():
            columns = [column["name"] for column in inspector.get_columns(table)
                       if isinstance(column["type"], (String, Text, JSON)) or "JSON" in str(column["type"]).upper()]
            if not columns:
                continue
            quoted = ", ".join(f'"{name}"' for name in columns)
            for row in connection.execute(text(f'SELECT {quoted} FROM "{table}"')):
                found.extend(json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
                             for value in row if value is not None)
    engine.dispose()
    return "\n".join(found)


def redis_values(client: redis.Redis, key: bytes) -> bytes:
    """A key's stored bytes, whatever its type (reply caches are strings, RQ jobs are hashes)."""
    kind = client.type(key)
    if kind == b"string":
        return client.get(key) or b""
    if kind == b"hash":
        return b"\n".join(client.hvals(key))
    return b""


def funnel_numbers(app: Flask) -> Any:
    period = Period(date(2026, 1, 1), date(2027, 12, 31))
    with app.extensions["sdr_session_factory"]() as session:
        steps = funnel_steps(app.extensions["sdr_flow"].stage_ids)
        return ([(step.stage, step.entered, step.reached_next) for step in funnel(session, steps, period, None)],
                daily_outcomes(session, period, None))


@BACKEND_MATRIX
def test_erase_leaves_no_personal_data_in_any_table_or_in_redis(app: Flask, redis_url: str | None) -> None:
    webhooks = WebhookClient(app)
    call = webhooks.call(PHONE)
    call.start()
    call.say("sim")
    call.hang_up()
    for message in SCRIPT:
        webhooks.send_whatsapp(PHONE, message)
    webhooks.send_whatsapp(OTHER, "oi")
    finish_background_work(app)
    stored = everything_stored(app)
    assert NAME in stored and EMAIL in stored  # the scan sees the data before erasing
    before = funnel_numbers(app)

    result = app.test_cli_runner().invoke(args=["sdr", "erase", "--phone", "(11) 98765-0055", "--yes"])
    assert result.exit_code == 0, result.output
    stored = everything_stored(app)
    for value in personal_forms():
        assert value not in stored, value
    if redis_url is not None:
        client = redis.Redis.from_url(redis_url)
        cached = b"\n".join(redis_values(client, key) for key in client.keys("*"))
        client.close()
        assert NAME.encode() not in cached and b"Beatriz" not in cached
    assert funnel_numbers(app) == before  # the anonymous stage history still counts

    with app.app_context():
        erased = db.session.scalars(select(Lead).where(Lead.erased_at.is_not(None))).one()
        assert erased.phone is None and erased.state.get("slots") == {}
    # Writing again is a brand-new lead at the start of the flow.
    assert webhooks.send_whatsapp(PHONE, "oi")[-1].endswith("(sim/não)")
    with app.app_context():
        assert db.session.scalar(select(Lead.stage).where(Lead.phone == PHONE)) == "consent"


def test_export_prints_everything_about_a_lead_of_both_channels(app: Flask) -> None:
    webhooks = WebhookClient(app)
    call = webhooks.call(PHONE)
    call.start()
    call.say("sim")
    call.say(NAME)
    call.hang_up()
    webhooks.send_whatsapp(PHONE, COMPANY)

    result = app.test_cli_runner().invoke(args=["sdr", "export", "--phone", PHONE])
    assert result.exit_code == 0, result.output
    exported = json.loads(result.output)
    assert list(exported) == ["lead", "score_reasons", "stage_history", "threads", "messages", "calls", "bookings"]
    assert (exported["lead"]["phone"], exported["lead"]["name"], exported["lead"]["company"]) == (PHONE, NAME, COMPANY)
    assert [event["to"] for event in exported["stage_history"]] == ["consent", "name", "company", "role"]
    assert {message["channel"] for message in exported["messages"]} == {"voice", "whatsapp"}
    assert any(message["text"] == COMPANY and message["direction"] == "inbound" for message in exported["messages"])
    [call_record] = exported["calls"]
    assert call_record["status"] == "completed" and call_record["duration_seconds"] == 16
    assert [thread["channel"] for thread in exported["threads"]] == ["voice", "whatsapp"]


def test_release_gives_a_handed_off_lead_back_to_the_bot(app: Flask) -> None:
    webhooks = WebhookClient(app)
    for message in ("oi", "sim", "Ana Souza", "falar com atendente"):
        webhooks.send_whatsapp(PHONE, message)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["sdr", "release", "--phone", PHONE]).exit_code == 0
    assert "empresa" in webhooks.send_whatsapp(PHONE, "oi")[-1]  # the bot is back, at the company question
    again = runner.invoke(args=["sdr", "release", "--phone", PHONE])
    assert again.exit_code == 1 and "is not handed off" in again.output


def test_cli_errors_are_clear(app: Flask) -> None:
    runner = app.test_cli_runner()
    for command in ("erase", "export", "release"):
        missing = runner.invoke(args=["sdr", command, "--phone", OTHER, *(["--yes"] if command == "erase" else [])])
        assert missing.exit_code == 1 and f"no lead has the number {OTHER}" in missing.output
        bad = runner.invoke(args=["sdr", command, "--phone", "12"])
        assert bad.exit_code == 2 and "not a valid phone number" in bad.output
    WebhookClient(app).send_whatsapp(PHONE, "oi")
    declined = runner.invoke(args=["sdr", "erase", "--phone", PHONE], input="n\n")
    assert declined.exit_code == 1
    with app.app_context():
        assert db.session.scalar(select(Lead.phone).where(Lead.phone == PHONE)) == PHONE  # nothing erased
