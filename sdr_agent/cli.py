"""`flask --app app sdr …` commands for people running the service."""
from __future__ import annotations

import json
import secrets

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Lead
from .phone import InvalidPhoneNumber, to_e164
from .simulator import OPENING_LINES, WebhookClient
from .telemetry import set_process

sdr = AppGroup("sdr", help="SDR Agent tools.")

RESTART_WORDS = {"pt-BR": "recomeçar", "en": "restart"}


@sdr.command("chat")
@click.option("--phone", help="The lead's phone number (E.164). Default: a new random Brazilian mobile.")
@click.option("--lang", "language", type=click.Choice(["pt-BR", "en"]), default="pt-BR", show_default=True,
              help="Language of the lead's opening line.")
@click.option("--url", "base_url", help="Talk to a running server (e.g. http://localhost:8000) instead of in-process.")
def chat(phone: str | None, language: str, base_url: str | None) -> None:
    """Talk to the bot in the terminal as a lead would (signed requests, real webhook path)."""
    lead_phone = _lead_phone(phone)
    set_process("cli")
    client = WebhookClient(current_app._get_current_object(), base_url)  # type: ignore[attr-defined]
    click.echo(f"Chatting as {lead_phone}. Type /reset to start over, /quit (or Ctrl-D) to leave.")
    text: str | None = OPENING_LINES[language]
    click.echo(f"you> {text}")
    while text is not None:
        for reply in client.send_whatsapp(lead_phone, text):
            click.echo(f"bot> {reply}")
        text = _next_line(language)


@sdr.command("call")
@click.option("--phone", help="The caller's phone number (E.164). Default: a new random Brazilian mobile.")
@click.option("--url", "base_url", help="Call a running server (e.g. http://localhost:8000) instead of in-process.")
def call(phone: str | None, base_url: str | None) -> None:
    """Phone the bot as a lead would: type what you would say; an empty line is silence."""
    lead_phone = _lead_phone(phone)
    set_process("cli")
    client = WebhookClient(current_app._get_current_object(), base_url)  # type: ignore[attr-defined]
    session = client.call(lead_phone)
    click.echo(f"Calling as {lead_phone}. Type what you would say; an empty line is silence; /quit hangs up.")
    texts = session.start()
    while True:
        for text in texts:
            click.echo(f"bot (says)> {text}")
        if session.ended:
            click.echo("bot hung up.")
            break
        try:
            speech = click.prompt("you (say)", prompt_suffix="> ", default="", show_default=False).strip()
        except (EOFError, click.Abort):
            click.echo()
            speech = "/quit"
        if speech == "/quit":
            break
        texts = session.say(speech)
    session.hang_up()


@sdr.command("worker")
@click.option("--burst", is_flag=True, help="Run what is queued now, then exit.")
def worker(burst: bool) -> None:
    """Deliver outbound WhatsApp messages and webhook notifications, and run the periodic sweep (RQ)."""
    from datetime import timedelta

    from rq import Queue, SimpleWorker

    from .worker import runtime
    from .worker.dispatch import QUEUE_NAME
    from .worker.jobs import sweep_job

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    connection = app.extensions["sdr_redis"]
    if connection is None:
        raise click.ClickException(
            "REDIS_URL is not set. Without Redis the web process delivers in the background itself; "
            "no worker is needed.")
    runtime.set_app(app)
    set_process("worker")
    queue = Queue(QUEUE_NAME, connection=connection)
    settings = app.extensions["sdr_settings"]
    if not burst:
        app.extensions["sdr_dispatcher"].schedule_sweep(timedelta(seconds=settings.sweep_interval_seconds or 60))
    queue.enqueue(sweep_job, not burst)  # catch up on anything due right away
    # SimpleWorker runs jobs in this process: no fork, so the database pool is never shared across processes.
    SimpleWorker([queue], connection=connection).work(burst=burst, with_scheduler=not burst)


@sdr.command("export")
@click.option("--phone", required=True, help="The lead's phone number.")
def export(phone: str) -> None:
    """Print everything stored about a lead as JSON (a data-access request)."""
    from .lead_export import export_lead

    with current_app.extensions["sdr_session_factory"]() as session:
        lead = _find_lead(session, phone)
        click.echo(json.dumps(export_lead(session, lead), ensure_ascii=False, indent=2))


@sdr.command("erase")
@click.option("--phone", required=True, help="The lead's phone number.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase(phone: str, yes: bool) -> None:
    """Irreversibly erase a lead's personal data and messages (LGPD/GDPR); funnel counts are kept."""
    with current_app.extensions["sdr_session_factory"]() as session:
        lead_id = _find_lead(session, phone).id
    if not yes:
        click.confirm(f"Erase every message and all personal data of lead {lead_id}? This cannot be undone", abort=True)
    current_app.extensions["sdr_lead_actions"].erase(lead_id)
    click.echo(f"Lead {lead_id} erased.")


@sdr.command("release")
@click.option("--phone", required=True, help="The lead's phone number.")
def release(phone: str) -> None:
    """Give a handed-off lead back to the bot, at the question it left."""
    with current_app.extensions["sdr_session_factory"]() as session:
        lead_id = _find_lead(session, phone).id
    if not current_app.extensions["sdr_lead_actions"].release(lead_id):
        raise click.ClickException(f"lead {lead_id} is not handed off")
    click.echo(f"Lead {lead_id} is back with the bot.")


def _find_lead(session: Session, phone: str) -> Lead:
    """The (not erased) lead with this number, or a clear error."""
    e164 = _lead_phone(phone)
    lead = session.scalars(select(Lead).where(Lead.phone == e164, Lead.erased_at.is_(None))).first()
    if lead is None:
        raise click.ClickException(f"no lead has the number {e164}")
    return lead


def _lead_phone(phone: str | None) -> str:
    """The --phone option in E.164, or a new random Brazilian mobile."""
    try:
        return to_e164(phone) if phone else f"+55119{secrets.randbelow(10**8):08d}"
    except InvalidPhoneNumber:
        raise click.BadParameter("not a valid phone number", param_hint="--phone") from None


def _next_line(language: str) -> str | None:
    """The lead's next non-empty line; None to leave the chat."""
    while True:
        try:
            text = click.prompt("you", prompt_suffix="> ", default="", show_default=False).strip()
        except (EOFError, click.Abort):
            click.echo()
            return None
        if text == "/quit":
            return None
        if text == "/reset":
            return RESTART_WORDS[language]
        if text:
            return text
