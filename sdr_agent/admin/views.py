"""The operator dashboard: overview, lead list, lead detail, actions, CSV export, logout."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from .. import telemetry
from ..models import Lead
from ..qualification import STAGE_NEW, TERMINAL_STAGES
from ..outbound.leads import not_given_slots
from ..understanding.usage import daily_model_usage
from .actions import LeadActions, LeadNotFound
from .chart import funnel_chart
from .export import csv_lines
from .filters import CHANNELS, OUTCOMES, BadFilter, LeadFilters, Period, outcome_of, whole_number
from .funnel import daily_outcomes, funnel, funnel_steps
from .handoffs import handoff_queue
from .leads import export_header, export_rows, lead_detail, lead_page
from .questions import unanswered_questions
from .security import log_out, no_store, require_operator

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(require_operator)
bp.after_request(no_store)


@bp.before_request
def keep_operator_input_out_of_telemetry() -> None:
    """Search terms and filters often are a lead's name or phone: nothing this request sends may carry them."""
    telemetry.never_send(*request.args.values())


def never_send_lead(lead: Lead) -> None:
    """Keep the personal fields of a lead the page shows out of what this request sends."""
    telemetry.never_send(lead.phone, lead.name, lead.company, lead.role, lead.email, lead.profile_name, lead.need)

ACTION_MESSAGES = {
    "hand_off": ("Lead handed off: the bot stays silent until it is released.", "The lead is already with a person."),
    "release": ("Lead released: the bot answers its next message.", "The lead was not handed off."),
}


@bp.errorhandler(BadFilter)
def bad_filter(error: BadFilter) -> ResponseReturnValue:
    """A malformed or out-of-range filter: 400 with the reason, before any query runs."""
    return f"400 Bad Request: {error}\n", 400, {"Content-Type": "text/plain; charset=utf-8"}


@bp.app_context_processor
def navigation() -> dict[str, bool]:
    """Whether the page header links to the simulator."""
    return {"simulator_enabled": "simulator.page" in current_app.view_functions}


@bp.app_template_filter("outcome")
def outcome_filter(row: Any) -> str:
    """Outcome label of a lead row."""
    return outcome_of(row.stage, row.opted_out, row.handed_off)


@bp.app_template_filter("duration")
def duration_filter(seconds: float | None) -> str:
    """A short human duration, e.g. '3m 20s'."""
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{value}{unit}" for value, unit in parts if value][:2]
    return " ".join(shown) or "0s"


@bp.app_template_filter("when")
def when_filter(value: datetime | None) -> str:
    """A UTC timestamp as 'YYYY-MM-DD HH:MM:SS UTC'."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if value else "–"


@bp.get("")
def overview() -> ResponseReturnValue:
    """Funnel and daily outcomes for a period and channel."""
    period = Period.from_args(request.args, datetime.now(timezone.utc).date())
    channel = request.args.get("channel") if request.args.get("channel") in CHANNELS else None
    steps = funnel_steps([stage.id for stage in _flow().stages])
    with _session() as session:
        funnel_rows = funnel(session, steps, period, channel)
        daily = daily_outcomes(session, period, channel)
        questions = unanswered_questions(session, period, channel)
        queue = handoff_queue(session)
        model_days = daily_model_usage(session, period.start, period.end,
                                       current_app.extensions["sdr_settings"].llm.cost)
    return render_template(
        "admin/overview.html", period=period, channel=channel, channels=CHANNELS,
        funnel=funnel_rows, chart=funnel_chart(funnel_rows), daily=daily, questions=questions, model_days=model_days,
        queue=queue, handoff_webhook=bool(current_app.extensions["sdr_settings"].handoff_webhook_url),
    )


@bp.get("/leads")
def leads() -> ResponseReturnValue:
    """Filtered, searchable, paginated lead list."""
    filters = LeadFilters.from_args(request.args)
    page_number = max(1, whole_number(request.args.get("page"), "page") or 1)
    with _session() as session:
        page = lead_page(session, filters, page_number)
    return render_template(
        "admin/leads.html", page=page, filters=filters, args=filters.as_args(),
        stages=_stages(), outcomes=OUTCOMES, channels=CHANNELS,
    )


@bp.get("/leads/<int:lead_id>")
def lead(lead_id: int) -> ResponseReturnValue:
    """One lead: fields, score reasons, stage timeline, transcript, actions."""
    with _session() as session:
        detail = lead_detail(session, lead_id)
    if detail is None:
        abort(404, description="no such lead")
    never_send_lead(detail.lead)
    state = detail.lead.state or {}
    return render_template(
        "admin/lead.html", detail=detail, lead=detail.lead, score_reasons=state.get("score_reasons") or [],
        open_questions=state.get("open_questions") or [], callback=state.get("callback"),
        not_given=not_given_slots(state),
        outcome=outcome_of(detail.lead.stage, detail.lead.opted_out, detail.lead.handed_off),
    )


@bp.post("/leads/<int:lead_id>/<action>")
def act(lead_id: int, action: str) -> ResponseReturnValue:
    """Run one operator action on a lead."""
    actions: LeadActions = current_app.extensions["sdr_lead_actions"]
    try:
        if action in ACTION_MESSAGES:
            done = getattr(actions, action)(lead_id)
            flash(ACTION_MESSAGES[action][0 if done else 1])
        elif action == "reset_thread":
            actions.reset_thread(lead_id)
            flash("Thread reset: the lead's next message starts the conversation over.")
        elif action == "erase":
            if request.form.get("confirm") != "erase":
                flash("Type erase to confirm.")
                return redirect(url_for(".lead", lead_id=lead_id), code=303)
            actions.erase(lead_id)
            flash(f"Lead {lead_id} and its conversations were erased.")
            return redirect(url_for(".leads"), code=303)
        else:
            abort(404, description="no such action")
    except LeadNotFound:
        abort(404, description="no such lead")
    return redirect(url_for(".lead", lead_id=lead_id), code=303)


@bp.get("/export.csv")
def export_csv() -> Response:
    """CSV of every lead matching the list's filters."""
    filters = LeadFilters.from_args(request.args)
    session = current_app.extensions["sdr_session_factory"]()

    def generate() -> Any:
        # The session lives as long as the streamed response, not the view call.
        with session:
            yield from csv_lines(export_header(), export_rows(session, filters))

    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Response(
        generate(), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="leads-{stamp}.csv"'},
    )


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """End the operator session."""
    log_out()
    return redirect(url_for("admin_auth.login"), code=303)


def _session() -> Session:
    return current_app.extensions["sdr_session_factory"]()


def _flow() -> Any:
    return current_app.extensions["sdr_flow"]


def _stages() -> list[str]:
    return [STAGE_NEW, *(stage.id for stage in _flow().stages), *TERMINAL_STAGES]
