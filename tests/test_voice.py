"""Voice calls end to end: signed Twilio voice webhooks in, TwiML out, state shared with WhatsApp."""
from __future__ import annotations

import threading
from typing import Any
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from sdr_agent.extensions import db
from sdr_agent.models import Call, ConversationThread, Lead, Message
from sdr_agent.qualification import Flow
from sdr_agent.simulator import CallSession, WebhookClient, call_form, gather_action, spoken_texts

from tests.conftest import BACKEND_MATRIX, Clock, signed_post

BR_PHONE = "+5511987654321"
US_PHONE = "+14155550123"
GATHER_DEFAULTS = {"input": "speech", "method": "POST", "speechTimeout": "auto", "actionOnEmptyResult": "true"}


@pytest.fixture
def webhooks(app: Flask) -> WebhookClient:
    """Signed webhooks into the app, in-process."""
    return WebhookClient(app)


def gather_of(twiml: str) -> ElementTree.Element:
    """The single <Gather> of a response that keeps listening."""
    root = ElementTree.fromstring(twiml)
    assert [child.tag for child in root] == ["Gather"], twiml
    return root[0]


def assert_listening(twiml: str, turn: int, language: str, voice: str, texts: list[str]) -> list[str]:
    """Checks the exact <Gather> attributes and <Say> texts; returns the hints."""
    gather = gather_of(twiml)
    attributes = dict(gather.attrib)
    hints = attributes.pop("hints").split(", ")
    assert attributes == {**GATHER_DEFAULTS, "action": f"/twilio/voice/gather?turn={turn}", "language": language}
    says = list(gather)
    assert [say.tag for say in says] == ["Say"] * len(texts)
    assert [say.attrib for say in says] == [{"voice": voice, "language": language}] * len(texts)
    assert [say.text for say in says] == texts
    return hints


def assert_hung_up(twiml: str, language: str, voice: str, texts: list[str]) -> None:
    root = ElementTree.fromstring(twiml)
    assert [child.tag for child in root] == ["Say"] * len(texts) + ["Hangup"], twiml
    assert [(say.text, say.attrib) for say in root[:-1]] == [(text, {"voice": voice, "language": language}) for text in texts]


def lead_row(app: Flask, phone: str) -> Lead:
    with app.app_context():
        return db.session.scalars(select(Lead).where(Lead.phone == phone)).one()


def call_row(app: Flask, call_sid: str) -> Call:
    with app.app_context():
        return db.session.scalars(select(Call).where(Call.call_sid == call_sid)).one()


def inbound_count(app: Flask, **where: Any) -> int:
    with app.app_context():
        query = select(func.count()).select_from(Message).where(Message.direction == "inbound")
        for column, value in where.items():
            query = query.where(getattr(Message, column) == value)
        return db.session.scalar(query)


@BACKEND_MATRIX
def test_whole_call_in_portuguese(app: Flask, webhooks: WebhookClient, flow: Flow) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    hints = assert_listening(call.last_twiml, 1, "pt-BR", "Polly.Camila", [
        "Olá! Sou o assistente virtual do time comercial. Posso fazer algumas perguntas rápidas? Diga sim ou não.",
    ])
    assert hints[:2] == ["sim", "não"] and "falar com atendente" in hints and "parar" in hints

    answers = [
        ("sim", ["Ótimo! Para começar, qual é o seu nome?"]),
        ("Ana Souza", [flow.question_stage("company").ask("pt-BR", {"name": "Ana Souza"}, voice=True)]),
        ("Acme", [flow.question_stage("role").ask("pt-BR", voice=True)]),
        ("diretor", [flow.question_stage("need").ask("pt-BR", voice=True)]),
        ("queremos automatizar o nosso funil de vendas", [flow.question_stage("budget").ask("pt-BR", voice=True)]),
        ("cinquenta mil reais", [flow.question_stage("timeline").ask("pt-BR", voice=True)]),
    ]
    for turn, (speech, expected) in enumerate(answers, start=1):
        call.say(speech)
        hints = assert_listening(call.last_twiml, turn + 1, "pt-BR", "Polly.Camila", expected)
        assert len(hints) <= 20
    role_hints = speech_hints_of(call, app, turn=3)
    assert "Diretor VP ou Head" in role_hints

    call.say("em dois meses")
    assert_hung_up(call.last_twiml, "pt-BR", "Polly.Camila", [
        # No approved template and no open WhatsApp window: nothing is promised, the lead is asked to write.
        "Para não errar seu e-mail, mande ele por WhatsApp para este mesmo número quando puder. Obrigado pela ligação!",
    ])
    call.hang_up("completed")

    lead = lead_row(app, BR_PHONE)
    assert (lead.name, lead.company, lead.role, lead.budget_amount, lead.stage) == ("Ana Souza", "Acme", "director", 50000, "email")
    assert lead.state["deferred"] == ["email"]
    assert lead.current_thread_id is None
    ended = call_row(app, call.call_sid)
    assert (ended.status, ended.end_reason, ended.duration_seconds) == ("completed", "completed", 56)
    with app.app_context():
        thread = db.session.get(ConversationThread, ended.thread_id)
        assert (thread.channel, thread.end_reason) == ("voice", "call_completed")
    assert inbound_count(app, channel="voice") == 8  # the opening and seven spoken turns


def speech_hints_of(call: CallSession, app: Flask, turn: int) -> list[str]:
    """The hints the call's response to `turn` carried, read back from the stored reply."""
    with app.app_context():
        body = db.session.scalar(select(Message.reply_body).where(Message.provider_sid == f"{call.call_sid}:{turn}"))
    return gather_of(body).attrib["hints"].split(", ")


@BACKEND_MATRIX
def test_whole_call_in_english_then_the_email_on_whatsapp(app: Flask, webhooks: WebhookClient) -> None:
    call = webhooks.call(US_PHONE)  # a US number is greeted in English
    call.start()
    assert_listening(call.last_twiml, 1, "en-US", "Polly.Joanna", [
        "Hi! I'm the sales team's virtual assistant. May I ask you a few quick questions? Please say yes or no.",
    ])
    script = [
        ("yes", "Great! To start, what's your name?"),
        ("Ana Souza", "Nice to meet you! Which company do you work for?"),
        ("Acme", "Which of these best describes your role? You can say the number or the name of the option. "
                 "Option 1, Founder, owner or CEO; option 2, Director, VP or Head; option 3, Manager or coordinator; "
                 "option 4, Analyst or individual contributor; option 5, Other."),
        ("option two", "What would you like to solve with our solution? A sentence or two is plenty."),
        ("we need to automate our sales pipeline",
         "Do you have an estimated budget for this? A rough figure or a range is fine, like two thousand dollars a "
         "month, or between ten and twenty thousand."),
        ("fifty thousand dollars", "When are you hoping to get started? For example: this month, in 3 months, next year."),
    ]
    for turn, (speech, expected) in enumerate(script, start=1):
        assert call.say(speech) == [expected]
        assert gather_action(call.last_twiml) == f"/twilio/voice/gather?turn={turn + 1}"
    call.say("in two months")
    assert_hung_up(call.last_twiml, "en-US", "Polly.Joanna", [
        "So I don't get your e-mail wrong, please send it to us on WhatsApp at this same number whenever you can. "
        "Thanks for the call!",
    ])
    call.hang_up()

    assert webhooks.send_whatsapp(US_PHONE, "hi") == [
        "Hi! As we agreed on the call, let's finish up here.", "Last one: what's your work e-mail?",
    ]
    assert webhooks.send_whatsapp(US_PHONE, "ana@acme.com")[0].startswith("Thanks, Ana Souza! From what you told us")
    lead = lead_row(app, US_PHONE)
    assert (lead.stage, lead.email, lead.role) == ("qualified", "ana@acme.com", "director")


@BACKEND_MATRIX
def test_answers_given_by_voice_carry_over_to_whatsapp(app: Flask, webhooks: WebhookClient, flow: Flow) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    call.say("sim")
    call.say("Ana Souza")
    call.say("Acme")
    call.hang_up()

    replies = webhooks.send_whatsapp(BR_PHONE, "oi")
    assert replies[-1] == flow.question_stage("role").ask("pt-BR")  # the next question, not the first one
    assert lead_row(app, BR_PHONE).stage == "role"
    assert webhooks.send_whatsapp(BR_PHONE, "2") == [flow.question_stage("need").ask("pt-BR")]


def test_a_returning_caller_is_welcomed_back_at_the_open_question(app: Flask, webhooks: WebhookClient, flow: Flow) -> None:
    webhooks.send_whatsapp(BR_PHONE, "oi")
    webhooks.send_whatsapp(BR_PHONE, "sim")
    webhooks.send_whatsapp(BR_PHONE, "Ana")
    call = webhooks.call(BR_PHONE)
    assert call.start() == [
        "Que bom falar com você de novo, Ana! Estávamos falando sobre a sua empresa.",
        flow.question_stage("company").ask("pt-BR", {"name": "Ana"}, voice=True),
    ]
    assert gather_action(call.last_twiml) == "/twilio/voice/gather?turn=1"


@BACKEND_MATRIX
def test_silence_is_asked_again_then_the_call_says_goodbye(app: Flask, webhooks: WebhookClient, flow: Flow) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    consent = flow.question_stage("consent").ask("pt-BR", voice=True)
    for turn in (1, 2):
        assert call.say("") == ["Desculpe, não ouvi.", consent]
        assert gather_action(call.last_twiml) == f"/twilio/voice/gather?turn={turn + 1}"
    call.say("")
    assert_hung_up(call.last_twiml, "pt-BR", "Polly.Camila", [
        "Obrigado pela ligação! Se preferir, continue pelo WhatsApp. Até logo!",
    ])
    assert call_row(app, call.call_sid).silent_turns == 3
    assert inbound_count(app, channel="voice", text="") == 4  # the opening and each silent turn


def test_speech_resets_the_silence_count(app: Flask, webhooks: WebhookClient) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    call.say("")
    call.say("")
    call.say("sim")
    call.say("")
    assert not call.ended
    assert call_row(app, call.call_sid).silent_turns == 1


def test_the_silent_turn_limit_is_configurable(app_config: dict[str, str], database_url: str) -> None:
    from sdr_agent import create_app

    app = create_app({**app_config, "SDR_VOICE_MAX_SILENT_TURNS": "1"})
    with app.app_context():
        db.create_all()
    call = WebhookClient(app).call(BR_PHONE)
    call.start()
    call.say("")
    assert not call.ended
    call.say("")
    assert call.ended


@BACKEND_MATRIX
def test_low_confidence_speech_is_confirmed_before_it_is_stored(app: Flask, webhooks: WebhookClient, flow: Flow) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    call.say("sim")
    call.say("Ana Souza")
    assert call.say("Acme", confidence=0.31) == ["Entendi Acme, está certo?"]
    assert gather_of(call.last_twiml).attrib["hints"].split(", ")[:2] == ["sim", "não"]
    assert "company" not in lead_row(app, BR_PHONE).state["slots"]
    assert call.say("sim") == [flow.question_stage("role").ask("pt-BR", voice=True)]
    assert lead_row(app, BR_PHONE).company == "Acme"


def test_a_confident_answer_is_stored_without_confirmation(app: Flask, webhooks: WebhookClient) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    call.say("sim")
    call.say("Ana Souza")
    call.say("Acme", confidence=0.5)  # exactly the default threshold counts as sure
    assert lead_row(app, BR_PHONE).company == "Acme"


@BACKEND_MATRIX
def test_a_retried_gather_gets_the_same_twiml_and_is_stored_once(app: Flask, client: FlaskClient) -> None:
    opening = call_form(BR_PHONE, "CA" + "a" * 32)
    first_opening = signed_post(client, "/twilio/voice", opening)
    again = signed_post(client, "/twilio/voice", opening)
    assert first_opening.status_code == again.status_code == 200
    assert first_opening.data == again.data

    form = call_form(BR_PHONE, "CA" + "a" * 32, SpeechResult="sim", Confidence="0.9")
    headers = {"I-Twilio-Idempotency-Token": "token-1"}
    first = signed_post(client, "/twilio/voice/gather?turn=1", form, url="http://localhost/twilio/voice/gather?turn=1", **headers)
    retry = signed_post(client, "/twilio/voice/gather?turn=1", form, url="http://localhost/twilio/voice/gather?turn=1", **headers)
    plain_retry = signed_post(client, "/twilio/voice/gather?turn=1", form, url="http://localhost/twilio/voice/gather?turn=1")
    assert first.status_code == retry.status_code == plain_retry.status_code == 200
    assert first.data == retry.data == plain_retry.data
    assert spoken_texts(first.get_data(as_text=True)) == ["Ótimo! Para começar, qual é o seu nome?"]
    assert inbound_count(app, provider_sid="CA" + "a" * 32 + ":1") == 1
    assert inbound_count(app, channel="voice") == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Call)) == 1
    assert lead_row(app, BR_PHONE).stage == "name"


@pytest.mark.parametrize(("database_url", "redis_url"), [("postgresql", "redis"), ("postgresql", "absent")], indirect=True)
def test_concurrent_retries_of_one_turn_store_it_once(app: Flask) -> None:
    call_sid = "CA" + "b" * 32
    assert signed_post(app.test_client(), "/twilio/voice", call_form(BR_PHONE, call_sid)).status_code == 200
    form = call_form(BR_PHONE, call_sid, SpeechResult="sim", Confidence="0.9")
    bodies: list[bytes] = []
    errors: list[BaseException] = []

    def post() -> None:
        try:
            response = signed_post(app.test_client(), "/twilio/voice/gather?turn=1", form,
                                   url="http://localhost/twilio/voice/gather?turn=1")
            assert response.status_code == 200
            bodies.append(response.data)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert len(bodies) == 6 and len(set(bodies)) == 1
    assert inbound_count(app, provider_sid=f"{call_sid}:1") == 1


def test_opting_out_on_a_call_hangs_up_and_an_opted_out_caller_can_come_back(app: Flask, webhooks: WebhookClient,
                                                                                flow: Flow) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    call.say("sim")
    assert call.say("parar") == ["Pronto, não vamos mais entrar em contato. Até logo!"]
    assert call.ended
    call.hang_up()
    assert lead_row(app, BR_PHONE).opted_out

    again = webhooks.call(BR_PHONE)
    assert again.start() == ["Você pediu para não receber mais contatos. Para voltar, diga voltar."]
    assert gather_of(again.last_twiml).attrib["hints"] == "voltar"
    replies = again.say("voltar")
    assert replies[-1] == flow.question_stage("name").ask("pt-BR", voice=True)
    assert not again.ended and not lead_row(app, BR_PHONE).opted_out


def test_an_opted_out_caller_who_says_anything_else_is_not_kept_on_the_line(webhooks: WebhookClient) -> None:
    webhooks.send_whatsapp(BR_PHONE, "parar")
    call = webhooks.call(BR_PHONE)
    call.start()
    assert call.say("quanto custa") == ["Obrigado pela ligação! Se preferir, continue pelo WhatsApp. Até logo!"]
    assert call.ended


def test_asking_for_a_person_on_a_call_hands_off_and_hangs_up(app: Flask, webhooks: WebhookClient) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    assert call.say("falar com atendente") == ["Combinado! Uma pessoa do nosso time vai entrar em contato com você em breve. Até logo!"]
    assert call.ended
    assert lead_row(app, BR_PHONE).handed_off


def test_a_lead_who_already_finished_hears_where_things_stand(app: Flask, webhooks: WebhookClient) -> None:
    for text in ("oi", "não"):
        webhooks.send_whatsapp(BR_PHONE, text)
    assert lead_row(app, BR_PHONE).stage == "declined"
    call = webhooks.call(BR_PHONE)
    assert call.start() == ["Obrigado pelo contato! Nosso time segue à disposição. Até logo!"]
    assert call.ended


def test_a_hidden_number_is_told_to_call_from_a_visible_one(app: Flask, client: FlaskClient) -> None:
    response = signed_post(client, "/twilio/voice", call_form("+266696687", "CA" + "c" * 32))
    assert response.status_code == 200
    assert_hung_up(response.get_data(as_text=True), "pt-BR", "Polly.Camila", [
        "Desculpe, não consegui identificar o seu número. Ligue de um número visível ou fale com a gente pelo WhatsApp. Até logo!",
    ])
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Lead)) == 0


def test_the_say_voices_are_configurable(app_config: dict[str, str]) -> None:
    from sdr_agent import create_app

    app = create_app({**app_config, "SDR_VOICE_PT_BR": "Google.pt-BR-Standard-A"})
    with app.app_context():
        db.create_all()
    call = WebhookClient(app).call(BR_PHONE)
    call.start()
    assert gather_of(call.last_twiml)[0].attrib["voice"] == "Google.pt-BR-Standard-A"


@BACKEND_MATRIX
def test_call_status_ends_the_call_once_and_later_callbacks_change_nothing(app: Flask, webhooks: WebhookClient,
                                                                            clock: Clock) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    clock.advance(seconds=30)
    call.hang_up("no-answer")
    first_end = clock.now
    clock.advance(seconds=30)
    call.seconds = 99
    call.hang_up("completed")  # a late, contradicting callback
    ended = call_row(app, call.call_sid)
    assert (ended.status, ended.end_reason, ended.duration_seconds) == ("no-answer", "no-answer", 0)
    assert ended.ended_at == first_end
    with app.app_context():
        assert db.session.get(ConversationThread, ended.thread_id).end_reason == "call_no_answer"


def test_an_in_progress_status_keeps_the_call_open(app: Flask, webhooks: WebhookClient) -> None:
    call = webhooks.call(BR_PHONE)
    call.start()
    call.hang_up("in-progress")
    assert call_row(app, call.call_sid).ended_at is None
    call.say("sim")
    assert not call.ended


def test_a_status_for_an_unknown_call_is_accepted_and_ignored(client: FlaskClient) -> None:
    response = signed_post(client, "/twilio/voice/status", call_form(BR_PHONE, "CA" + "d" * 32, CallStatus="completed"))
    assert response.status_code == 204


@pytest.mark.parametrize("path", ["/twilio/voice", "/twilio/voice/gather?turn=1", "/twilio/voice/status"])
def test_voice_webhooks_reject_forged_signatures(client: FlaskClient, path: str) -> None:
    form = call_form(BR_PHONE, "CA" + "e" * 32, SpeechResult="sim", CallStatus="completed")
    unsigned = client.post(path, data=form)
    forged = client.post(path, data=form, headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    other_turn = signed_post(client, path, form, url=f"http://localhost{path}".replace("turn=1", "turn=2"))
    assert unsigned.status_code == forged.status_code == 403
    if "turn" in path:
        assert other_turn.status_code == 403  # the turn is part of what Twilio signed


@pytest.mark.parametrize(
    ("path", "fields", "reason"),
    [
        ("/twilio/voice", {"CallSid": ""}, "missing CallSid"),
        ("/twilio/voice/gather", {}, "turn"),
        ("/twilio/voice/gather?turn=abc", {}, "turn"),
        ("/twilio/voice/gather?turn=0", {}, "turn out of range"),
        ("/twilio/voice/gather?turn=1", {"From": "not a number"}, "From is not a valid phone number"),
        ("/twilio/voice/status", {"CallStatus": "exploded"}, "unknown CallStatus"),
    ],
)
def test_malformed_voice_requests_get_400_with_a_reason(client: FlaskClient, path: str, fields: dict[str, str],
                                                        reason: str) -> None:
    form = call_form(BR_PHONE, "CA" + "f" * 32, **fields)
    response = signed_post(client, path, form)
    assert response.status_code == 400
    assert reason in response.get_data(as_text=True)


def test_a_gather_without_a_stored_opening_still_starts_the_call(app: Flask, client: FlaskClient) -> None:
    form = call_form(BR_PHONE, "CA" + "9" * 32)
    response = signed_post(client, "/twilio/voice/gather?turn=1", form, url="http://localhost/twilio/voice/gather?turn=1")
    assert response.status_code == 200
    assert gather_action(response.get_data(as_text=True)) == "/twilio/voice/gather?turn=2"
    assert call_row(app, "CA" + "9" * 32).silent_turns == 1


def test_every_voice_response_is_valid_twiml(app: Flask, webhooks: WebhookClient) -> None:
    session = webhooks.call(BR_PHONE)
    bodies = []
    session.start()
    bodies.append(session.last_twiml)
    for speech in ("sim", "", "ajuda", "english please", "Ana", "restart"):
        session.say(speech)
        bodies.append(session.last_twiml)
    for body in bodies:
        root = ElementTree.fromstring(body)
        assert root.tag == "Response"
        assert all(child.tag in ("Gather", "Say", "Hangup") for child in root)
