"""Operator dashboard (/admin) and browser simulator (/simulator); they read the same models
as the conversation service and never talk to Twilio directly."""
from __future__ import annotations

from flask import Blueprint, Flask

from ..config import Settings
from . import auth, simulator_views, views
from .actions import LeadActions
from .security import init_security

# Stylesheet and script for both areas, outside /admin so the login page can use them.
assets = Blueprint("sdr_assets", __name__, static_folder="static", static_url_path="/assets",
                   template_folder="templates")


def init_admin(app: Flask, settings: Settings) -> None:
    """Register the dashboard (and the simulator when enabled) on the app."""
    init_security(app, settings)
    conversation = app.extensions["sdr_conversation"]
    app.extensions["sdr_lead_actions"] = LeadActions(
        app.extensions["sdr_session_factory"], conversation.gate, settings.default_language
    )
    app.register_blueprint(assets)
    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    if settings.is_development or settings.simulator:
        app.register_blueprint(simulator_views.bp)

