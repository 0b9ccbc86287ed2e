"""The floor: a bare Flask app answering a fixed TwiML <Message>; no Flask webhook can beat it."""
from flask import Flask, Response, request

TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>Ol\u00e1!</Message></Response>'

app = Flask(__name__)


@app.post("/twilio/whatsapp")
def inbound() -> Response:
    """Answer every webhook with the same TwiML, having read (not parsed) the body."""
    # Every webhook must at least read its input; an unread body also costs the
    # keep-alive connection in gunicorn, which would make the floor unfairly slow.
    request.get_data()
    return Response(TWIML, mimetype="text/xml")


@app.get("/healthz")
def healthz() -> Response:
    """Readiness probe for the harness."""
    return Response("ok", mimetype="text/plain")
