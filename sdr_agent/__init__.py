"""SDR Agent: qualifies inbound B2B sales leads over WhatsApp and phone calls."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

import requests
from flask import Flask, Response
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from .booking.desk import BookingDesk
from .channels.refusals import RefusalAlarm
from .config import PROJECT_ROOT, Settings
from .conversation import ConversationService, StorageUnavailable
from .database import discard_closed_connections, engine_options, serialise_sqlite_writers
from .extensions import db, migrate, redis_ext
from .http_headers import init_security_headers
from .leadgate import LeadGate
from .qualification import load_flow, load_knowledge
from .ratelimit import RateLimit
from .models import utcnow
from .outbound.delivery import OutboundServices, deliver
from .outbound.whatsapp_sender import WhatsAppSender, twilio_client
from .request_size import init_request_size_limit
from .telemetry import init_telemetry
from .telemetry_web import instrument_app
from .worker import runtime
from .worker.dispatch import InlineDispatcher, RqDispatcher
from .worker.sweep import Sweeper

RETRY_AFTER_SECONDS = "5"
log = logging.getLogger(__name__)


def create_app(test_config: Mapping[str, str] | None = None) -> Flask:
    """Build the app from the environment; `test_config` overrides environment variables."""
    environ = dict(os.environ)
    environ.update(test_config or {})
    settings = Settings.from_env(environ)
    _configure_logging()
    init_telemetry(settings, "web")
    if not settings.handoff_webhook_url:
        # A hand-off silences the bot; without the webhook only the dashboard's queue shows the lead.
        log.warning("SDR_HANDOFF_WEBHOOK_URL is not set: hand-offs notify no one; see the queue on /admin")

    app = Flask(__name__, instance_path=str(PROJECT_ROOT / "instance"))
    instrument_app(app)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(settings.database_url),
    )
    if settings.proxy_hops:
        # Exactly this many proxies append to X-Forwarded-*; anything a client wrote before them is ignored.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    init_request_size_limit(app, settings.max_request_bytes)
    init_security_headers(app, settings)
    _ensure_sqlite_folder(settings.database_url)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    redis_ext.init_app(app, settings.redis_url)

    with app.app_context():
        engine = db.engine
    serialise_sqlite_writers(engine)
    discard_closed_connections(engine)
    session_factory = sessionmaker(bind=engine, expire_on_commit=False)
    flow = load_flow(settings.flow_file)
    flow = flow.with_knowledge(load_knowledge(settings.knowledge_file, flow.languages))
    redis_client = app.extensions[redis_ext.key]
    outbound = OutboundServices(
        settings=settings,
        session_factory=session_factory,
        flow=flow,
        sender=WhatsAppSender(settings, twilio_client(settings)),
        http=requests.Session(),
        clock=utcnow,
    )
    gate = LeadGate(redis_client, settings.lock_timeout_seconds,
                    RateLimit(settings.rate_limit_messages, settings.rate_limit_window_seconds))
    sweeper = Sweeper(outbound, gate)
    dispatcher = RqDispatcher(redis_client) if redis_client is not None else InlineDispatcher(
        lambda item_id: deliver(outbound, item_id), sweeper.run_monitored, settings.sweep_interval_seconds)
    app.extensions.update(
        sdr_settings=settings,
        sdr_flow=flow,
        sdr_session_factory=session_factory,
        sdr_outbound=outbound,
        sdr_sweeper=sweeper,
        sdr_dispatcher=dispatcher,
        sdr_refusals=RefusalAlarm(settings.signature_alert_threshold, settings.signature_alert_window_seconds),
        sdr_conversation=ConversationService(
            session_factory=session_factory,
            gate=gate,
            flow=flow,
            settings=settings,
            dispatcher=dispatcher,
            booking=BookingDesk(settings) if settings.booking_enabled else None,
        ),
    )
    runtime.set_app(app)

    from .booking import routes as booking_routes
    from .channels import status, voice, whatsapp
    from . import cli, health
    from .admin import init_admin

    app.register_blueprint(whatsapp.bp)
    app.register_blueprint(status.bp)
    app.register_blueprint(voice.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(booking_routes.bp)
    init_admin(app, settings)
    app.cli.add_command(cli.sdr)
    _register_error_handlers(app)
    return app


def _register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def plain_http_error(error: HTTPException) -> Response:
        # Twilio and operators read these in logs: a short reason beats an HTML page.
        return Response(f"{error.code} {error.name}: {error.description}\n", status=error.code, mimetype="text/plain")

    @app.errorhandler(StorageUnavailable)
    def storage_unavailable(_error: StorageUnavailable) -> Response:
        # 503 fast: Twilio retries, or routes to the number's fallback URL.
        return Response(
            "503 Service Unavailable: cannot store the message, retry later\n",
            status=503,
            mimetype="text/plain",
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )


def _ensure_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


def _configure_logging() -> None:
    """INFO to stderr unless a host (gunicorn, pytest) already configured logging."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
