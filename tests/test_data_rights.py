"""Data rights: erase leaves no personal data anywhere (but the funnel counts), export shows everything, release."""
from __future__ import annotations

import json
import zlib
from datetime import date, datetime
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import JSON, String, Text, create_engine, func, inspect, select, text

from sdr_agent.admin.filters import Period
from sdr_agent.admin.funnel import daily_outcomes, funnel, funnel_steps
from sdr_agent.extensions import db
from sdr_agent.lead_export import LEAD_FIELDS
from sdr_agent.leadgate import LeadGate
from sdr_agent.models import Lead
from sdr_agent.phone import phone_hash
from sdr_agent.simulator import CallSession, WebhookClient, call_form
from tests.conftest import BACKEND_MATRIX, PHONE_SECRET, finish_background_work, signed_post

PHONE = "+5511987650055"
OTHER = "+5511987650066"
NAME, COMPANY, EMAIL = "Beatriz Albuquerque", "Zentrix Sistemas", "beatriz@zentrix.com.br"
NEED = "Queremos automatizar a triagem dos nossos leads"
SCRIPT = ["oi", "sim", NAME, COMPANY, "1", NEED, "50 mil", "este mês", EMAIL, "2"]  # qualified, then books
# Said on the call, unclearly: the bot repeats it back ("Entendi …, está certo?") in a reply cached under
# the idempotency token Twilio sends (and repeats on retries) with every voice webhook.
VOICE_NAME = "Beatriz Albuquerque Lima"
WITH_REDIS = pytest.mark.parametrize(("database_url", "redis_url"), [("sqlite", "redis")], indirect=True)


def personal_forms() -> list[str]:
    """The lead's number in the forms a scan might meet, its pseudonym, and what it told us."""
    digits = PHONE.lstrip("+")
    return [PHONE, digits, digits[2:], "98765-0055", phone_hash(PHONE_SECRET, PHONE),
            NAME, "Albuquerque", VOICE_NAME, COMPANY, EMAIL, "zentrix.com.br", NEED]


def say_with_retry_token(app: Flask, call: CallSession, speech: str, token: str) -> None:
    """One unclear spoken answer sent the way Twilio sends it, with an idempotency token, twice (a retry)."""
    assert call.action is not None
    form = call_form(call.phone, call.call_sid, SpeechResult=speech, Confidence="0.30")
    for _ in range(2):
        response = signed_post(app.test_client(), call.action, form, url=f"http://localhost{call.action}",
                               **{"I-Twilio-Idempotency-Token": token})
        assert response.status_code == 200
    call.seconds += 8


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


def redis_keyspace(url: str) -> bytes:
    """Every key and stored value in the Redis database, whatever its type, RQ's compressed job data unpacked."""
    client = redis.Redis.from_url(url)
    found: list[bytes] = []
    for key in client.scan_iter(count=1000):
        found.append(key)
        kind = client.type(key)
        if kind == b"string":
            found.append(client.get(key) or b"")
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                found.append(zlib.decompress(value) if field == b"data" else value)
        elif kind == b"list":
            found.extend(client.lrange(key, 0, -1))
        elif kind == b"set":
            found.extend(client.smembers(key))
        elif kind == b"zset":
            found.extend(client.zrange(key, 0, -1))
    client.close()
    return b"\n".join(found)


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
    say_with_retry_token(app, call, VOICE_NAME, token="RTerase0001")
    call.hang_up()
    for message in SCRIPT:
        webhooks.send_whatsapp(PHONE, message)
    webhooks.send_whatsapp(OTHER, "oi")
    finish_background_work(app)
    stored = everything_stored(app)
    assert NAME in stored and VOICE_NAME in stored and EMAIL in stored  # the scan sees the data before erasing
    if redis_url is not None:
        assert VOICE_NAME.encode() in redis_keyspace(redis_url) and NAME.encode() in redis_keyspace(redis_url)
    before = funnel_numbers(app)

    result = app.test_cli_runner().invoke(args=["sdr", "erase", "--phone", "(11) 98765-0055", "--yes"])
    assert result.exit_code == 0, result.output
    stored = everything_stored(app)
    for value in personal_forms():
        assert value not in stored, value
    if redis_url is not None:
        cached = redis_keyspace(redis_url)
        for value in [*personal_forms(), call.call_sid]:
            assert value.encode() not in cached, value
    assert funnel_numbers(app) == before  # the anonymous stage history still counts

    with app.app_context():
        erased = db.session.scalars(select(Lead).where(Lead.erased_at.is_not(None))).one()
        assert erased.phone is None and erased.state.get("slots") == {} and not erased.state.get("score_reasons")
    again = app.test_cli_runner().invoke(args=["sdr", "erase", "--phone", PHONE, "--yes"])
    assert again.exit_code == 1 and f"no lead has the number {PHONE}" in again.output
    # Writing again is a brand-new lead at the start of the flow.
    assert webhooks.send_whatsapp(PHONE, "oi")[-1].endswith("(sim/não)")
    with app.app_context():
        assert db.session.scalar(select(Lead.stage).where(Lead.phone == PHONE)) == "consent"
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 3


@WITH_REDIS
def test_forgetting_replies_drops_the_leads_messages_and_call_turns_only(app: Flask, redis_url: str) -> None:
    gate: LeadGate = app.extensions["sdr_lead_actions"].gate
    for key in ("SMmine", "CAmine:0", "CAmine:1:token-a", "CAmine:2:token-b", "SMtheirs", "CAtheirs:1:token-c",
                "CAmine*:1"):
        gate.remember_reply(key, f"reply for {key}")
    gate.forget_replies(["SMmine", "CAmine:0"], ["CAmine"])
    client = redis.Redis.from_url(redis_url)
    left = sorted(key.decode() for key in client.scan_iter(match="sdr:reply:*"))
    client.close()
    # The glob character in the last key is matched literally, not as a wildcard.
    assert left == ["sdr:reply:CAmine*:1", "sdr:reply:CAtheirs:1:token-c", "sdr:reply:SMtheirs"]


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
    assert list(exported) == ["lead", "score_reasons", "callback", "questions", "stage_history", "threads", "messages", "calls", "bookings"]
    assert list(exported["lead"]) == list(LEAD_FIELDS)
    assert app.test_cli_runner().invoke(args=["sdr", "export", "--phone", PHONE]).output == result.output  # stable
    assert (exported["lead"]["phone"], exported["lead"]["name"], exported["lead"]["company"]) == (PHONE, NAME, COMPANY)
    assert [event["to"] for event in exported["stage_history"]] == ["consent", "name", "company", "role"]
    assert {message["channel"] for message in exported["messages"]} == {"voice", "whatsapp"}
    assert any(message["text"] == COMPANY and message["direction"] == "inbound" for message in exported["messages"])
    [call_record] = exported["calls"]
    assert call_record["status"] == "completed" and call_record["duration_seconds"] == 16
    assert [thread["channel"] for thread in exported["threads"]] == ["voice", "whatsapp"]
    timestamps = [exported["lead"]["created_at"], call_record["started_at"], call_record["ended_at"],
                  *(message["at"] for message in exported["messages"]), *(event["at"] for event in exported["stage_history"])]
    assert all(datetime.fromisoformat(stamp).utcoffset() is not None for stamp in timestamps)  # ISO 8601, zoned


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
