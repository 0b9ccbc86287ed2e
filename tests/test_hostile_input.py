"""Signed requests with arbitrary field values: never a 5xx, a 400 when unusable, a polite reply otherwise.

Every Twilio endpoint, on SQLite and PostgreSQL (which refuses NUL and out-of-range integers
where SQLite would not). Each kind of hostile value named in the issue has its own strategy,
so it is generated on purpose rather than left to chance.
"""
from __future__ import annotations

import itertools
import re
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from sdr_agent.simulator import EXAMPLE_ACCOUNT_SID
from tests.conftest import BOTH_DATABASES, signed_post

LIMIT = 64 * 1024  # SDR_MAX_REQUEST_BYTES default
HYPOTHESIS = settings(max_examples=100, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
UNIQUE = itertools.count(1)

# Any character Twilio could relay (lone surrogates cannot be UTF-8 encoded, so never arrive).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=300)
SAMPLES = [
    "مرحبا، أريد معرفة المزيد",  # Arabic, right to left
    "שלום, אני רוצה לדעת עוד",  # Hebrew
    "\u202egnp.exe\u202c",  # right-to-left override
    "🙂🙃🤷‍♀️👨‍👩‍👧‍👦🏳️‍🌈",  # emoji, ZWJ sequences, flags
    "\x00", "Oi\x00 tudo\x00bem", "\x00" * 50,  # NUL bytes
    "e\u0301\u0301\u0301 Z\u0351\u0352\u0353",  # combining marks
    "\ufeff\u200b\u200c\u200d\u2060",  # BOM and zero-width characters
    "𝕳𝖊𝖑𝖑𝖔 𝟙𝟚𝟛", "日本語のテキスト", "Ω≈ç√∫˜µ≤≥÷",
    "\r\n\t\v\f\x1b[31m", "\u2028\u2029",  # control and separator characters
    "<Response><Say>hi</Say><Hangup/></Response>", "]]>&amp;<!-- --><![CDATA[x]]>",  # TwiML injection
    "{name}", "%s%n", "' OR 1=1 --",
]
texts = st.one_of(
    any_text,
    st.sampled_from(SAMPLES),
    st.lists(st.sampled_from(SAMPLES), min_size=2, max_size=6).map(" ".join),
    # Bodies over WhatsApp's 1600 characters, of one- to four-byte characters.
    st.tuples(st.sampled_from(["a", "ç", "ب", "🙂", "Oi\x00 ", "ab "]), st.integers(1601, 4000))
    .map(lambda spec: (spec[0] * spec[1])[:spec[1]]),
)
optional_texts = st.one_of(st.none(), texts)
MALFORMED_PHONES = ["", " ", "whatsapp:", "whatsapp:+", "+", "+55", "whatsapp:+55119", "whatsapp:+999999999999999999",
                    "+1 (555) abc-defg", "whatsapp:+5511987654321\x00", "whatsapp:whatsapp:+5511987654321",
                    "sms:+5511987654321", "client:alice", "anonymous", "+266696687", "٠١٢٣٤٥٦٧٨٩", "+５５１１９８７６５４３２１"]
# "fresh" stands for a valid number no earlier example used (the test fills it in).
phones = st.one_of(st.just("fresh"), st.none(), st.sampled_from(MALFORMED_PHONES), texts,
                   texts.map(lambda value: f"whatsapp:{value}"))
sids = st.one_of(st.just("fresh"), st.none(), st.just(""), texts)
numbers = st.one_of(st.integers(-10, 10).map(str), st.integers(-(10**20), 10**20).map(str),
                    st.sampled_from(["nan", "inf", "-inf", "1e309", "0x10", "١٢", "1" * 5000]), texts)
unknown_fields = st.dictionaries(st.one_of(st.text("abcdefXYZ_", min_size=1, max_size=12), texts.filter(bool)),
                                 texts, max_size=5)


def fresh(kind: str | None, make: str) -> str | None:
    """Replace the 'fresh' marker by a value no other example used."""
    return make.format(next(UNIQUE)) if kind == "fresh" else kind


def put(form: dict[str, str], **fields: str | None) -> None:
    """Set the fields that are not None (None means Twilio left the field out)."""
    form.update({name: value for name, value in fields.items() if value is not None})


def too_big(response: TestResponse) -> bool:
    """Whether the body the client sent was over the limit."""
    return (response.request.content_length or 0) > LIMIT


def check_status(response: TestResponse, allowed: tuple[int, ...]) -> None:
    """Never a 5xx; 413 exactly when the body is over the limit; a 400 says why."""
    text = response.get_data(as_text=True)
    assert response.status_code in allowed, (response.status_code, text[:300])
    assert (response.status_code == 413) == too_big(response), response.request.content_length
    if response.status_code == 400:
        assert text.startswith("400 Bad Request: ") and len(text) > len("400 Bad Request: ") + 5, text


def spoken(response: TestResponse) -> list[str]:
    """Texts the TwiML says or sends; it must parse as a <Response>."""
    root = ElementTree.fromstring(response.get_data())
    assert root.tag == "Response"
    return [element.text or "" for element in root.iter() if element.tag in ("Message", "Say")]


@BOTH_DATABASES
@HYPOTHESIS
@given(
    body=optional_texts, from_=phones, sid=sids, profile=optional_texts, num_media=st.one_of(st.none(), numbers),
    media_count=st.sampled_from([0, 1, 3, 100]), wa_id=optional_texts, button=optional_texts,
    latitude=st.one_of(st.none(), numbers), longitude=st.one_of(st.none(), numbers), address=optional_texts,
    extra=unknown_fields,
)
def test_whatsapp_webhook_survives_any_field_values(
    client: FlaskClient, body: str | None, from_: str | None, sid: str | None, profile: str | None,
    num_media: str | None, media_count: int, wa_id: str | None, button: str | None, latitude: str | None,
    longitude: str | None, address: str | None, extra: dict[str, str],
) -> None:
    phone = fresh(from_, "whatsapp:+55119{:08d}")
    message_sid = fresh(sid, "SM{:032x}")
    form = dict(extra)
    put(form, AccountSid=EXAMPLE_ACCOUNT_SID, Body=body, From=phone, MessageSid=message_sid, ProfileName=profile, NumMedia=num_media, WaId=wa_id,
        ButtonPayload=button, Latitude=latitude, Longitude=longitude, Address=address)
    for index in range(media_count):
        form[f"MediaUrl{index}"] = f"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME{index}"
        form[f"MediaContentType{index}"] = "image/jpeg"
    response = signed_post(client, "/twilio/whatsapp", form)

    check_status(response, (200, 400, 413))
    if response.status_code == 200:
        spoken(response)
    usable = from_ == "fresh" and sid == "fresh" and not too_big(response)
    if usable:  # a new lead with a real number always gets an answer, whatever it wrote
        assert response.status_code == 200
        assert any(text.strip() for text in spoken(response)), response.get_data(as_text=True)
    if not (message_sid or "").replace("\x00", "").strip() or not (phone or "").replace("\x00", "").strip():
        assert response.status_code in (400, 413)


@BOTH_DATABASES
@HYPOTHESIS
@given(
    sid=st.one_of(st.none(), texts, st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True)),
    status=st.one_of(st.none(), texts, st.sampled_from(["sent", "delivered", "read", "failed", "DELIVERED "])),
    error_code=st.one_of(st.none(), numbers), error_message=optional_texts, extra=unknown_fields,
)
@example(sid="SM\x00", status="sent", error_code="3\x00", error_message=None, extra={})  # PostgreSQL refused NUL: 500
def test_status_callback_survives_any_field_values(
    client: FlaskClient, sid: str | None, status: str | None, error_code: str | None, error_message: str | None,
    extra: dict[str, str],
) -> None:
    form = dict(extra)
    put(form, AccountSid=EXAMPLE_ACCOUNT_SID, MessageSid=sid, MessageStatus=status, ErrorCode=error_code,
        ErrorMessage=error_message)
    response = signed_post(client, "/twilio/status", form)
    check_status(response, (200, 400, 413))
    known = (status or "").strip().lower() in ("sent", "delivered", "read", "failed")
    if response.status_code != 413:
        assert (response.status_code == 200) == (known and bool(re.fullmatch(r"(SM|MM)[0-9a-fA-F]{32}", sid or "")))


turns = st.one_of(st.integers(-3, 12).map(str), st.sampled_from(["10000", "10001", str(2**63), "", "1.5", "٣", " 2 "]),
                  texts.map(lambda value: value[:50]))


@BOTH_DATABASES
@HYPOTHESIS
@given(
    path=st.sampled_from(["/twilio/voice", "/twilio/voice/gather", "/twilio/voice/status"]),
    turn=st.one_of(st.none(), turns), call_sid=sids, from_=phones, speech=optional_texts,
    confidence=st.one_of(st.none(), numbers, st.floats(allow_nan=True).map(str)),
    status=st.one_of(st.none(), texts, st.sampled_from(["completed", "no-answer", "in-progress", "BUSY"])),
    duration=st.one_of(st.none(), numbers), extra=unknown_fields,
)
# A duration past PostgreSQL's INTEGER on a call that exists was a 500.
@example(path="/twilio/voice/status", turn=None, call_sid="fresh", from_="fresh", speech=None, confidence=None,
         status="completed", duration=str(10**12), extra={})
# A 64-character CallSid overflowed the `<CallSid>:<turn>` key on PostgreSQL: 503 (now refused as malformed).
@example(path="/twilio/voice", turn=None, call_sid="CA" + "a" * 1600, from_="fresh", speech=None, confidence=None,
         status=None, duration=None, extra={})
def test_voice_webhooks_survive_any_field_values(
    client: FlaskClient, path: str, turn: str | None, call_sid: str | None, from_: str | None, speech: str | None,
    confidence: str | None, status: str | None, duration: str | None, extra: dict[str, Any],
) -> None:
    target = path if turn is None else f"{path}?turn={quote(turn, safe='')}"
    sid = fresh(call_sid, "CA{:032x}")
    phone = fresh(from_, "+55119{:08d}")
    if sid is not None and call_sid == "fresh" and from_ == "fresh" and path != "/twilio/voice":
        # A turn or status of a call that exists runs the whole path, not just the unknown-call answer.
        assert signed_post(client, "/twilio/voice", {"CallSid": sid, "From": phone or "",
                                                     "AccountSid": EXAMPLE_ACCOUNT_SID}).status_code == 200
    form = dict(extra)
    put(form, AccountSid=EXAMPLE_ACCOUNT_SID, CallSid=sid, From=phone, SpeechResult=speech, Confidence=confidence, CallStatus=status,
        CallDuration=duration)
    response = signed_post(client, target, form)

    check_status(response, (200, 204, 400, 413))
    if response.status_code == 200 and path != "/twilio/voice/status":
        said = spoken(response)
        if path == "/twilio/voice" and from_ == "fresh":
            assert any(text.strip() for text in said)  # a caller always hears a greeting
    if not (sid or "").replace("\x00", "").strip():
        assert response.status_code in (400, 413)
    if path == "/twilio/voice" and call_sid == "fresh" and from_ == "fresh" and not too_big(response):
        assert response.status_code == 200
