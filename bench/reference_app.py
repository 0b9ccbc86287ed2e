"""The reference: the least work a correct answer to one WhatsApp message needs on this stack.

Signature check, E.164 parse, keyed phone hash, a Redis reply cache and per-lead lock, one
PostgreSQL transaction that locks or creates the lead, stores the message exactly once and moves
a small state, TwiML out. No flow, no telemetry, no rate limit: the service is judged against it.
"""
import hashlib
import hmac
import os

import phonenumbers
import redis
from flask import Flask, Response, abort, request
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

URL = os.environ["PUBLIC_BASE_URL"] + "/twilio/whatsapp"
VALIDATOR = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
PHONE_KEY = os.environ["PHONE_HASH_SECRET"].encode()
REDIS = redis.Redis.from_url(os.environ["REDIS_URL"])
ENGINE = create_engine(os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1),
                       pool_size=5, max_overflow=5, pool_pre_ping=True)
SCHEMA = ("CREATE TABLE IF NOT EXISTS reference_leads (id serial PRIMARY KEY, phone_hash text UNIQUE NOT NULL,"
          " step integer NOT NULL DEFAULT 0)",
          "CREATE TABLE IF NOT EXISTS reference_messages (id serial PRIMARY KEY, lead_id integer NOT NULL,"
          " sid text UNIQUE NOT NULL, body text NOT NULL, reply text NOT NULL)")
CREATE_LEAD = text("INSERT INTO reference_leads (phone_hash) VALUES (:hash) ON CONFLICT DO NOTHING")
LOCK_LEAD = text("SELECT id, step FROM reference_leads WHERE phone_hash = :hash FOR UPDATE")
STORE = text("INSERT INTO reference_messages (lead_id, sid, body, reply) VALUES (:lead, :sid, :body, :reply)"
             " ON CONFLICT (sid) DO NOTHING RETURNING id")
STORED_REPLY = text("SELECT reply FROM reference_messages WHERE sid = :sid")
ADVANCE = text("UPDATE reference_leads SET step = step + 1 WHERE id = :lead")

with ENGINE.begin() as setup:
    for statement in SCHEMA:
        setup.execute(text(statement))

app = Flask(__name__)


@app.post("/twilio/whatsapp")
def inbound() -> Response:
    """Answer one message exactly once, in the lead's order."""
    if not VALIDATOR.validate(URL, request.form, request.headers.get("X-Twilio-Signature", "")):
        abort(403)
    sid = request.form["MessageSid"]
    cached = REDIS.get(f"ref:reply:{sid}")
    if cached is not None:
        return Response(cached, mimetype="text/xml")
    number = phonenumbers.parse(request.form["From"].removeprefix("whatsapp:"))
    phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    phone_hash = hmac.new(PHONE_KEY, phone.encode(), hashlib.sha256).hexdigest()
    with REDIS.lock(f"ref:lock:{phone_hash}", timeout=15, blocking_timeout=5):
        with ENGINE.begin() as connection:
            connection.execute(CREATE_LEAD, {"hash": phone_hash})
            lead_id, step = connection.execute(LOCK_LEAD, {"hash": phone_hash}).one()
            twiml = MessagingResponse()
            twiml.message(f"Passo {step + 1}")
            reply = str(twiml)
            stored = connection.execute(STORE, {"lead": lead_id, "sid": sid, "body": request.form.get("Body", ""),
                                                "reply": reply}).first()
            if stored is None:  # a retry that lost the race to the first delivery: the stored reply
                reply = connection.execute(STORED_REPLY, {"sid": sid}).scalar_one()
            else:
                connection.execute(ADVANCE, {"lead": lead_id})
    REDIS.set(f"ref:reply:{sid}", reply, ex=3600)
    return Response(reply, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    """Readiness probe for the harness."""
    return Response("ok", mimetype="text/plain")
