"""Booking after qualification, through the real WhatsApp webhook: offer, choose, confirm, remind, move, cancel."""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone

import pytest
from flask import Flask
from sqlalchemy import func, select

from sdr_agent.extensions import db
from sdr_agent.models import Booking, Lead, OutboxItem, StageEvent
from sdr_agent.scheduling import free_slots
from sdr_agent.simulator import EXAMPLE_ACCOUNT_SID, WebhookClient
from tests.conftest import AUTH_TOKEN, BACKEND_MATRIX, Clock, base_config, finish_background_work
from tests.fake_twilio import FakeTwilio, use_fake_twilio
from tests.http_recorder import HttpRecorder

PHONE = "+5511987650033"
ACCOUNT_SID = EXAMPLE_ACCOUNT_SID
QUALIFY_PT = ["oi", "sim", "Ana Souza", "Acme", "1", "Queremos automatizar a qualificação", "50 mil", "este mês",
              "ana@acme.com.br"]
QUALIFY_EN = ["Hello! I saw your ad and I would like to know more about your service.", "yes", "John Smith",
              "Globex", "1", "We need to automate lead qualification", "$20k", "this month", "john@globex.com"]
# Monday 2 March 2026, 10:00 in São Paulo (13:00 UTC): the conftest clock's start.
START = datetime(2026, 3, 2, 13, 0, tzinfo=timezone.utc)


@pytest.fixture
def app_config(database_url: str, redis_url: str | None, receiver: HttpRecorder) -> dict[str, str]:
    return base_config(database_url, redis_url, PUBLIC_BASE_URL="https://sdr.example.com",
                       SDR_CALENDAR_WEBHOOK_URL=f"{receiver.url}/calendar", SDR_WEBHOOK_SECRET="s",
                       TWILIO_WHATSAPP_FROM="whatsapp:+14155238886", SDR_BOOKING_HOLIDAYS="2026-03-04")


@pytest.fixture
def booking_app(app: Flask, clock: Clock) -> Flask:
    app.extensions["sdr_outbound"].clock = clock
    return app


def qualify(app: Flask, phone: str = PHONE, script: list[str] = QUALIFY_PT) -> list[str]:
    webhooks = WebhookClient(app)
    replies: list[str] = []
    for text in script:
        replies = webhooks.send_whatsapp(phone, text)
    return replies


def expected_slots(app: Flask, now: datetime, taken: list[datetime] = ()) -> list:  # type: ignore[assignment]
    return free_slots(app.extensions["sdr_settings"].scheduling, now, taken)


def bookings(app: Flask) -> list[Booking]:
    with app.app_context():
        return list(db.session.scalars(select(Booking).order_by(Booking.id)))


def lead(app: Flask, phone: str = PHONE) -> Lead:
    with app.app_context():
        return db.session.scalars(select(Lead).where(Lead.phone == phone)).one()


@BACKEND_MATRIX
def test_qualified_lead_is_offered_slots_and_books_one_by_number(booking_app: Flask, clock: Clock) -> None:
    replies = qualify(booking_app)
    assert replies[0].startswith("Obrigado, Ana Souza!")
    slots = expected_slots(booking_app, clock.now)
    assert replies[1] == (
        "Tenho estes horários livres (horário de Brasília):\n"
        + "\n".join(f"{n}) {slot.label('pt-BR')}" for n, slot in enumerate(slots, 1))
        + '\n\nResponda com o número ou escreva outro horário (ex.: "quinta às 10h").'
    )
    assert slots[0].start >= clock.now + timedelta(hours=2)  # the minimum notice

    confirmation = WebhookClient(booking_app).send_whatsapp(PHONE, "2")
    [booking] = bookings(booking_app)
    assert booking.start_at == slots[1].start and booking.status == "booked"
    assert confirmation[0] == (f"Reunião marcada para {slots[1].label('pt-BR', with_zone=True)}! Vou te lembrar um pouco "
                               "antes. Para remarcar, escreva *remarcar*; para cancelar a reunião, escreva *cancelar reunião*.")
    assert confirmation[1] == f"Adicione à sua agenda: https://sdr.example.com/bookings/{booking.token}.ics"
    assert lead(booking_app).stage == "booked"
    with booking_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StageEvent).where(StageEvent.to_stage == "booked")) == 1
        reminder = db.session.scalars(select(OutboxItem).where(OutboxItem.purpose == "reminder")).one()
    assert reminder.next_attempt_at == slots[1].start - timedelta(minutes=60)


@pytest.mark.parametrize(("script", "request_text", "local_hour", "weekday"), [
    (QUALIFY_PT, "quinta às 15h", 15, 3),
    (QUALIFY_PT, "amanhã 10h", 10, 1),
    (QUALIFY_EN, "Thursday 3pm", 15, 3),
    (QUALIFY_EN, "tomorrow at 10am", 10, 1),
])
def test_a_time_in_words_books_that_slot(booking_app: Flask, script: list[str], request_text: str, local_hour: int,
                                          weekday: int) -> None:
    qualify(booking_app, script=script)
    reply = WebhookClient(booking_app).send_whatsapp(PHONE, request_text)
    [booking] = bookings(booking_app)
    local = booking.start_at.astimezone(booking_app.extensions["sdr_settings"].scheduling.zone)
    assert (local.weekday(), local.hour, local.minute) == (weekday, local_hour, 0)
    assert reply[0].startswith(("Reunião marcada", "Your meeting is booked"))


def test_a_time_on_a_holiday_gets_the_closest_free_slots(booking_app: Flask) -> None:
    qualify(booking_app)
    reply = WebhookClient(booking_app).send_whatsapp(PHONE, "quarta às 15h")  # 4 March is a holiday
    assert bookings(booking_app) == []
    assert reply[0] == "Esse horário não está disponível."
    assert reply[1].startswith("Tenho estes horários livres")
    assert "quarta, 04/03" not in reply[1]


def test_an_unclear_answer_repeats_the_offer(booking_app: Flask) -> None:
    offer = qualify(booking_app)[1]
    assert WebhookClient(booking_app).send_whatsapp(PHONE, "tanto faz") == ["Não entendi qual horário você prefere.", offer]


def test_a_slot_taken_meanwhile_is_not_double_booked(booking_app: Flask, clock: Clock) -> None:
    other = "+5511987650034"
    qualify(booking_app)
    qualify(booking_app, phone=other)
    webhooks = WebhookClient(booking_app)
    webhooks.send_whatsapp(other, "1")  # the other lead books the first slot first
    reply = webhooks.send_whatsapp(PHONE, "1")  # ours was offered the same slot
    assert reply[0] == "Esse horário acabou de ser reservado."
    assert [booking.lead_id for booking in bookings(booking_app)] == [lead(booking_app, other).id]
    taken = [bookings(booking_app)[0].start_at]
    assert expected_slots(booking_app, clock.now, taken)[0].label("pt-BR") in reply[1]


@pytest.mark.parametrize(("database_url", "redis_url"), [("postgresql", "redis"), ("postgresql", "absent"),
                                                         ("sqlite", "absent")], indirect=True)
def test_ten_leads_racing_for_one_slot_make_one_booking(booking_app: Flask) -> None:
    phones = [f"+55119876501{n:02d}" for n in range(10)]
    for phone in phones:
        qualify(booking_app, phone=phone)
    barrier = threading.Barrier(len(phones))
    answers: dict[str, list[str]] = {}

    def book(phone: str) -> None:
        client = WebhookClient(booking_app)
        barrier.wait(timeout=10)
        answers[phone] = client.send_whatsapp(phone, "1")

    threads = [threading.Thread(target=book, args=(phone,)) for phone in phones]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == 10
    assert len(bookings(booking_app)) == 1
    confirmed = [phone for phone, reply in answers.items() if reply[0].startswith("Reunião marcada")]
    assert len(confirmed) == 1
    assert all(reply[0] == "Esse horário acabou de ser reservado." for phone, reply in answers.items()
               if phone not in confirmed)


def test_reschedule_and_cancel(booking_app: Flask, receiver: HttpRecorder) -> None:
    qualify(booking_app)
    webhooks = WebhookClient(booking_app)
    webhooks.send_whatsapp(PHONE, "1")
    first = bookings(booking_app)[0]
    assert webhooks.send_whatsapp(PHONE, "tudo certo?")[0].startswith("Sua reunião está marcada para")

    reply = webhooks.send_whatsapp(PHONE, "preciso remarcar")
    assert reply[0] == "Sem problemas, vamos remarcar."
    assert reply[1].startswith("Tenho estes horários livres")
    assert lead(booking_app).stage == "qualified"
    webhooks.send_whatsapp(PHONE, "3")
    second = bookings(booking_app)[1]
    assert [b.status for b in bookings(booking_app)] == ["cancelled", "booked"]
    assert second.start_at != first.start_at

    assert webhooks.send_whatsapp(PHONE, "quero cancelar a reunião") == [
        "Reunião cancelada. Se quiser marcar outro horário, é só escrever *remarcar*."]
    assert [b.status for b in bookings(booking_app)] == ["cancelled", "cancelled"]
    with booking_app.app_context():
        reminders = db.session.scalars(select(OutboxItem).where(OutboxItem.purpose == "reminder")).all()
        assert [(r.status, r.last_error) for r in reminders] == [("skipped", "the booking was cancelled")] * 2
    finish_background_work(booking_app)
    events = [json.loads(r.body)["event"] for r in receiver.requests]
    assert sorted(events) == sorted(["booking.created", "booking.cancelled"] * 2)


def test_the_reminder_goes_out_before_the_meeting(booking_app: Flask, clock: Clock) -> None:
    fake = FakeTwilio(ACCOUNT_SID, AUTH_TOKEN).start()
    try:
        use_fake_twilio(booking_app, fake)
        qualify(booking_app)
        WebhookClient(booking_app).send_whatsapp(PHONE, "1")
        finish_background_work(booking_app)  # the in-process worker has seen it is not due yet
        start = bookings(booking_app)[0].start_at
        sweeper = booking_app.extensions["sdr_sweeper"]
        clock.now = start - timedelta(minutes=61)
        sweeper.run()
        assert fake.sent() == []  # not yet
        clock.now = start - timedelta(minutes=59)
        sweeper.run()
        [form] = fake.sent()
        assert form["Body"].startswith("Lembrete: nossa reunião é ") and form["To"] == f"whatsapp:{PHONE}"
    finally:
        fake.stop()


def test_the_ics_link_serves_the_meeting(booking_app: Flask) -> None:
    qualify(booking_app)
    WebhookClient(booking_app).send_whatsapp(PHONE, "1")
    booking = bookings(booking_app)[0]
    response = booking_app.test_client().get(f"/bookings/{booking.token}.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    body = response.get_data(as_text=True)
    assert "BEGIN:VEVENT" in body and f"DTSTART:{booking.start_at:%Y%m%dT%H%M%SZ}" in body
    assert booking_app.test_client().get("/bookings/nope.ics").status_code == 404


def test_opting_out_cancels_the_booking(booking_app: Flask) -> None:
    qualify(booking_app)
    webhooks = WebhookClient(booking_app)
    webhooks.send_whatsapp(PHONE, "1")
    webhooks.send_whatsapp(PHONE, "parar")
    assert [b.status for b in bookings(booking_app)] == ["cancelled"]


def test_booking_can_be_turned_off(database_url: str) -> None:
    from sdr_agent import create_app

    app = create_app(base_config(database_url, None, SDR_BOOKING_ENABLED="0"))
    with app.app_context():
        db.create_all()
    replies = qualify(app)
    assert len(replies) == 1 and replies[0].startswith("Obrigado, Ana Souza!")


def test_a_question_while_choosing_a_slot_is_answered_and_the_offer_repeated(booking_app: Flask) -> None:
    offer = qualify(booking_app)[1]
    replies = WebhookClient(booking_app).send_whatsapp(PHONE, "a reunião é online?")
    assert replies == ["A reunião é uma conversa online de 30 minutos com um especialista, com demonstração no seu caso. "
                       "Sem compromisso.", offer]
    assert lead(booking_app).stage == "qualified"
    assert WebhookClient(booking_app).send_whatsapp(PHONE, "1")[0].startswith("Reunião marcada")


def test_an_e_mail_corrected_while_choosing_a_slot_is_stored_and_the_offer_repeated(booking_app: Flask) -> None:
    offer = qualify(booking_app)[1]
    replies = WebhookClient(booking_app).send_whatsapp(PHONE, "errei o e-mail, é ana.souza@acme.com.br")
    assert replies == ["Anotado, obrigado pela correção.", offer]
    assert (lead(booking_app).email, lead(booking_app).stage) == ("ana.souza@acme.com.br", "qualified")
