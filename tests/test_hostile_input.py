"""Signed requests with arbitrary field values: never a 5xx, a 400 when unusable, TwiML otherwise."""
from __future__ import annotations

from xml.etree import ElementTree

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import signed_post

# Any printable or control character Twilio could relay (lone surrogates cannot be UTF-8 encoded).
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=2500)
phones = st.one_of(
    st.sampled_from(["whatsapp:+5511987654321", "whatsapp:+14155550123", "+5521999990000"]),
    any_text.map(lambda value: f"whatsapp:{value}"),
    any_text,
)
sids = st.one_of(st.from_regex(r"SM[0-9a-f]{32}", fullmatch=True), any_text.filter(lambda s: 0 < len(s.strip()) <= 64))
HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@HYPOTHESIS
@given(
    body=any_text,
    from_=phones,
    sid=st.one_of(st.none(), sids),
    profile=st.one_of(st.none(), any_text),
    num_media=st.one_of(st.none(), st.integers(-5, 200).map(str), any_text),
    media_count=st.integers(0, 100),
    extra=st.dictionaries(st.text("abcdefXYZ_", min_size=1, max_size=12), any_text, max_size=5),
)
def test_whatsapp_webhook_survives_any_field_values(
    client: FlaskClient, body: str, from_: str, sid: str | None, profile: str | None,
    num_media: str | None, media_count: int, extra: dict[str, str],
) -> None:
    form = {**extra, "Body": body, "From": from_}
    if sid is not None:
        form["MessageSid"] = sid
    if profile is not None:
        form["ProfileName"] = profile
    if num_media is not None:
        form["NumMedia"] = num_media
    for index in range(media_count):
        form[f"MediaUrl{index}"] = f"https://api.twilio.com/media/{index}"
        form[f"MediaContentType{index}"] = "image/jpeg"
    response = signed_post(client, "/twilio/whatsapp", form)

    assert response.status_code in (200, 400, 413), response.get_data(as_text=True)
    if response.status_code == 200:
        assert ElementTree.fromstring(response.get_data()).tag == "Response"
    if sid is None or not from_.strip():
        assert response.status_code == 400


@HYPOTHESIS
@given(sid=st.one_of(st.none(), any_text), status=st.one_of(st.none(), any_text, st.sampled_from(["sent", "delivered", "read"])))
def test_status_callback_survives_any_field_values(client: FlaskClient, sid: str | None, status: str | None) -> None:
    form = {}
    if sid is not None:
        form["MessageSid"] = sid
    if status is not None:
        form["MessageStatus"] = status
    response = signed_post(client, "/twilio/status", form)
    assert response.status_code in (200, 400)


call_sids = st.one_of(st.from_regex(r"CA[0-9a-f]{32}", fullmatch=True), any_text.filter(lambda s: 0 < len(s.strip()) <= 64))


@HYPOTHESIS
@given(
    path=st.sampled_from(["/twilio/voice", "/twilio/voice/gather?turn=1", "/twilio/voice/gather?turn=7",
                          "/twilio/voice/status"]),
    call_sid=st.one_of(st.none(), call_sids),
    from_=phones,
    speech=st.one_of(st.none(), any_text),
    confidence=st.one_of(st.none(), any_text, st.floats(allow_nan=True).map(str)),
    status=st.one_of(st.none(), any_text, st.sampled_from(["completed", "no-answer", "in-progress"])),
    duration=st.one_of(st.none(), any_text, st.integers(-10, 10**9).map(str)),
)
def test_voice_webhooks_survive_any_field_values(
    client: FlaskClient, path: str, call_sid: str | None, from_: str, speech: str | None, confidence: str | None,
    status: str | None, duration: str | None,
) -> None:
    form = {"From": from_}
    for key, value in (("CallSid", call_sid), ("SpeechResult", speech), ("Confidence", confidence),
                       ("CallStatus", status), ("CallDuration", duration)):
        if value is not None:
            form[key] = value
    response = signed_post(client, path, form)

    assert response.status_code in (200, 204, 400, 413), response.get_data(as_text=True)
    if response.status_code == 200:
        assert ElementTree.fromstring(response.get_data()).tag == "Response"
    if call_sid is None:
        assert response.status_code == 400
