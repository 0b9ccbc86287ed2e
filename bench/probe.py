"""In-process probes: what one message costs in SQL statements and Redis commands, and its latency."""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, text

from sdr_agent.extensions import db
from sdr_agent.models import Lead
from sdr_agent.simulator import sign, whatsapp_form

from .counters import RedisCommandLog, StatementCounter
from .workload import MID_FLOW_STEP, SCRIPT, WHATSAPP_PATH

# Columns that make up a lead's place in the flow; copying them puts a lead back there.
FLOW_COLUMNS = ("state", "stage", "language", "score", "name", "company", "role", "need", "budget", "budget_amount",
                "timeline", "timeline_months", "email", "opted_out", "handed_off", "last_inbound_at")


@dataclass(frozen=True)
class Cost:
    """Statements and commands one inbound message caused, in order."""

    sql: tuple[str, ...]
    redis: tuple[str, ...]


class Probe:
    """Sends signed webhooks to an in-process app (the same code gunicorn runs)."""

    def __init__(self, app: Flask, redis_url: str) -> None:
        self.app = app
        self.redis_url = redis_url
        self.client: FlaskClient = app.test_client()
        settings = app.extensions["sdr_settings"]
        self.auth_token = settings.twilio_auth_token
        self.signed_url = (settings.public_base_url or "http://localhost") + WHATSAPP_PATH
        with app.app_context():
            self.engine: Engine = db.engine

    def send(self, phone: str, body: str) -> float:
        """Send one message; return its wall time in milliseconds (fails unless answered 200)."""
        form = whatsapp_form(phone, body)
        headers = {"X-Twilio-Signature": sign(self.auth_token, self.signed_url, form)}
        started = time.perf_counter()
        response = self.client.post(WHATSAPP_PATH, data=form, headers=headers)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"webhook answered {response.status_code}: {response.get_data(as_text=True)[:200]}")
        return elapsed_ms

    def walk(self, phone: str, steps: int) -> None:
        """Send the first `steps` messages of the script as this lead."""
        for step in range(steps):
            self.send(phone, SCRIPT[step].format(lead=0))

    def cost(self, phone: str, body: str) -> Cost:
        """Count what one message costs: statements sent by the engine, commands seen by Redis."""
        # An idle client's health check would add a PING to the count: use the connection first.
        self.app.extensions["sdr_redis"].ping()
        statements = StatementCounter(self.engine)
        commands = RedisCommandLog(self.redis_url)
        try:
            self.send(phone, body)
        finally:
            seen = commands.stop()
            statements.close()
        return Cost(tuple(statements.statements), tuple(seen))

    def lead_id(self, phone: str) -> int:
        """The id of the lead with this phone number."""
        with self.engine.connect() as connection:
            return int(connection.execute(select(Lead.id).where(Lead.phone == phone)).scalar_one())

    def stage(self, phone: str) -> str:
        """The lead's current stage."""
        with self.engine.connect() as connection:
            return str(connection.execute(select(Lead.stage).where(Lead.phone == phone)).scalar_one())

    def copy_flow_position(self, source_id: int, target_ids: list[int]) -> None:
        """Put leads back at the source lead's place in the flow (history untouched)."""
        assignments = ", ".join(f"{column} = source.{column}" for column in FLOW_COLUMNS)
        with self.engine.begin() as connection:
            connection.execute(
                text(f"UPDATE leads SET {assignments} FROM leads AS source "
                     "WHERE source.id = :source AND leads.id = ANY(:targets)"),
                {"source": source_id, "targets": target_ids},
            )


def new_lead_cost(probe: Probe, phone: str) -> Cost:
    """Cost of a first message from an unknown number."""
    return probe.cost(phone, SCRIPT[0])


def mid_flow_cost(probe: Probe, phone: str) -> Cost:
    """Cost of a message deep in the flow (the role answer), after walking there."""
    probe.walk(phone, MID_FLOW_STEP)
    return probe.cost(phone, SCRIPT[MID_FLOW_STEP])


@dataclass(frozen=True)
class HistoryComparison:
    """Mid-flow message of a lead with a long history against the same message of a short one."""

    history_cost: Cost
    history_ms: float
    control_ms: float

    @property
    def ratio(self) -> float:
        """Median latency with history / without."""
        return self.history_ms / self.control_ms


def compare_history(probe: Probe, template_phone: str, history_phone: str, control_phone: str,
                    rounds: int) -> HistoryComparison:
    """Answer the same mid-flow question `rounds` times as each lead, alternating; medians of the wall times."""
    template_id = probe.lead_id(template_phone)
    targets = [probe.lead_id(history_phone), probe.lead_id(control_phone)]
    body = SCRIPT[MID_FLOW_STEP]
    probe.copy_flow_position(template_id, targets)
    history_cost = probe.cost(history_phone, body)
    history_times, control_times = [], []
    for _ in range(rounds):
        probe.copy_flow_position(template_id, targets)
        history_times.append(probe.send(history_phone, body))
        control_times.append(probe.send(control_phone, body))
    return HistoryComparison(history_cost, statistics.median(history_times), statistics.median(control_times))
