"""POST /twilio/voice, /twilio/voice/gather and /twilio/voice/status: qualifying a lead by phone."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request
from werkzeug.datastructures import MultiDict

from ..config import Settings
from ..conversation import FINAL_CALL_STATUSES
from ..messages import CallStart, InboundMessage, Outcome, Render, turn_sid
from ..qualification import Flow, speech_hints
from .form import CALL_SID_PREFIXES, clean_field, sender_phone, twilio_sid
from .signature import twilio_signed
from .voice_twiml import ask_and_listen, say_and_hang_up

bp = Blueprint("voice", __name__)
log = logging.getLogger(__name__)

IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"  # identical on every retry of one webhook request
MAX_SPEECH_CHARS = 1024
MAX_TURN = 10_000
MAX_CALL_SECONDS = 24 * 3600
# What Twilio puts in From when the caller hides their number ("ANONYMOUS", "RESTRICTED", … on a keypad).
HIDDEN_CALLER_IDS = frozenset({"+266696687", "+7378742833", "+2562533", "+8656696", "+86282452253"})
CALL_STATUSES = frozenset({"queued", "initiated", "ringing", "in-progress", *FINAL_CALL_STATUSES})


@bp.post("/twilio/voice")
@twilio_signed
def incoming_call() -> Response:
    """Greet the caller and ask the current question."""
    call_sid = _call_sid(request.form)
    phone = _caller(request.form)
    settings: Settings = current_app.extensions["sdr_settings"]
    if phone is None:
        # No number, no lead: nothing to resume or store, so explain and hang up.
        language = settings.default_language
        text = current_app.extensions["sdr_flow"].text("unknown_caller", language, voice=True)
        return _twiml(say_and_hang_up([text], language, settings.voice_names.get(language, "")))
    service = current_app.extensions["sdr_conversation"]
    reply = service.open_call(CallStart(call_sid=call_sid, phone=phone), voice_renderer(next_turn=1))
    return _twiml(reply.body)


@bp.post("/twilio/voice/gather")
@twilio_signed
def gathered_speech() -> Response:
    """One spoken answer: one engine turn, then the next question or the goodbye."""
    form = request.form
    turn = _turn_number(request.args.get("turn"))
    call_sid = _call_sid(form)
    phone = _caller(form)
    if phone is None:
        abort(400, description="From is not a valid phone number")
    sid = turn_sid(call_sid, turn)
    token = clean_field(request.headers.get(IDEMPOTENCY_HEADER), 128)
    message = InboundMessage(
        sid=sid,
        phone=phone,
        channel="voice",
        text=clean_field(form.get("SpeechResult"), MAX_SPEECH_CHARS),
        call_sid=call_sid,
        confidence=_confidence(form.get("Confidence")),
        # Under the turn's SID, so erasing the lead finds the cached reply by its CallSid.
        retry_key=f"{sid}:{token}" if token else None,
    )
    reply = current_app.extensions["sdr_conversation"].handle(message, voice_renderer(next_turn=turn + 1))
    return _twiml(reply.body)


@bp.post("/twilio/voice/status")
@twilio_signed
def call_status() -> Response:
    """Record how the call went; a final status ends the call's thread with that reason."""
    form = request.form
    call_sid = _call_sid(form)
    status = clean_field(form.get("CallStatus"), 20).lower()
    if status not in CALL_STATUSES:
        abort(400, description="missing or unknown CallStatus")
    duration = _duration(form.get("CallDuration"))
    known = current_app.extensions["sdr_conversation"].finish_call(call_sid, status, duration)
    if not known:
        log.info("status callback for an unknown call", extra={"status": status})
    return Response(status=204)


def voice_renderer(next_turn: int) -> Render:
    """Renders an outcome as <Say> + <Gather> for turn `next_turn`, or <Say> + <Hangup/>."""
    settings: Settings = current_app.extensions["sdr_settings"]
    flow: Flow = current_app.extensions["sdr_flow"]

    def render(outcome: Outcome) -> str:
        language = outcome.state.language
        voice = settings.voice_names.get(language, "")
        if outcome.end_call:
            return say_and_hang_up(outcome.texts, language, voice)
        return ask_and_listen(outcome.texts, language, voice, speech_hints(flow, outcome.state), next_turn)

    return render


def _twiml(body: str) -> Response:
    return Response(body, mimetype="text/xml")


def _call_sid(form: MultiDict[str, str]) -> str:
    return twilio_sid(form, "CallSid", CALL_SID_PREFIXES)


def _caller(form: MultiDict[str, str]) -> str | None:
    """The caller's E.164 number; None when it is hidden or unusable."""
    phone = sender_phone(form)
    return None if phone is None or phone in HIDDEN_CALLER_IDS else phone


def _turn_number(raw: str | None) -> int:
    try:
        turn = int(raw or "")
    except ValueError:
        abort(400, description="missing or invalid turn in the query string")
    if not 1 <= turn <= MAX_TURN:
        abort(400, description="turn out of range")
    return turn


def _confidence(raw: str | None) -> float | None:
    """Twilio's 0..1 recognition confidence; None when absent or nonsense (then the answer is trusted)."""
    try:
        value = float(raw or "")
    except ValueError:
        return None
    return value if 0.0 <= value <= 1.0 else None


def _duration(raw: str | None) -> int | None:
    """CallDuration in seconds; None when absent or nonsense (a call lasts at most a day at Twilio)."""
    try:
        value = int(raw or "")
    except ValueError:
        return None
    # The bound also keeps the value inside PostgreSQL's INTEGER, which would refuse it with a 500.
    return value if 0 <= value <= MAX_CALL_SECONDS else None
