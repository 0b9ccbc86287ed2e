"""Storing one turn: its messages, its stage changes and the lead's new state, one statement on PostgreSQL."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Sequence

from sqlalchemy import (JSON, Insert, String, Table, bindparam, cast, column, func, insert, literal_column, select,
                        update)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from .lead_state import state_columns
from .messages import InboundMessage
from .models import Lead, Message, StageEvent, utcnow
from .qualification import EventKind, LeadState, StepResult

RECEIVED = "received"
_MESSAGES: Table = Message.__table__
_STAGE_EVENTS: Table = StageEvent.__table__
_LEADS: Table = Lead.__table__
MESSAGE_COLUMNS = ("lead_id", "thread_id", "direction", "channel", "text", "provider_sid", "status", "media",
                   "location", "reply_body", "created_at")
STAGE_EVENT_COLUMNS = ("lead_id", "thread_id", "from_stage", "to_stage", "channel", "at", "stay_seconds")
# Every column a turn may change: written whole, so the statement's shape never depends on what changed.
LEAD_COLUMNS = (*state_columns(LeadState()), "profile_name", "current_thread_id", "last_inbound_at", "updated_at")

INSERT_MESSAGES = insert(_MESSAGES)
INSERT_STAGE_EVENTS = insert(_STAGE_EVENTS)
# Bound names differ from column names: SQLAlchemy keeps those for its own SET parameters.
UPDATE_LEAD = (update(_LEADS).where(_LEADS.c.id == bindparam("lead_id_", type_=_LEADS.c.id.type))
               .values({column: bindparam(f"lead_{column}", type_=_LEADS.c[column].type) for column in LEAD_COLUMNS}))


def store_turn(session: Session, lead: Lead, message: InboundMessage, body: str, thread_id: int, reply_thread_id: int,
               texts: Sequence[str], result: StepResult, now: datetime, seconds_in_stage: float | None) -> None:
    """Insert the turn's messages and stage changes and update the lead with the engine's new state.

    On PostgreSQL the INSERTs ride along with the lead's UPDATE as data-modifying CTEs: one
    statement, one round trip. The ORM's copy of the lead is set to what was written, so nothing
    is left for a flush to send.
    """
    messages = message_rows(lead.id, message, body, thread_id, reply_thread_id, texts, now)
    events = stage_event_rows(lead.id, reply_thread_id, message.channel, result, now, seconds_in_stage)
    values = {
        **state_columns(result.state),
        "profile_name": lead.profile_name or (message.profile_name or "")[:120] or None,
        "current_thread_id": lead.current_thread_id,
        "last_inbound_at": now,
        "updated_at": utcnow(),
    }
    lead_params = {f"lead_{column}": value for column, value in values.items()}
    lead_params["lead_id_"] = lead.id
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(TURN_STATEMENT, lead_params | {"turn_messages": _json(messages), "turn_stage_events": _json(events)})
    else:
        # SQLite has no INSERT inside WITH: the same rows, a statement per table.
        connection.execute(INSERT_MESSAGES, messages)
        if events:
            connection.execute(INSERT_STAGE_EVENTS, events)
        connection.execute(UPDATE_LEAD, lead_params)
    for column, value in values.items():
        set_committed_value(lead, column, value)


def message_rows(lead_id: int, message: InboundMessage, body: str, thread_id: int, reply_thread_id: int,
                 texts: Sequence[str], now: datetime, status: str = RECEIVED) -> list[dict[str, Any]]:
    """The inbound message (with the reply it got, replayed on retries) and one row per reply text."""
    inbound = {
        "lead_id": lead_id,
        "thread_id": thread_id,
        "direction": "inbound",
        "channel": message.channel,
        "text": message.text,
        "provider_sid": message.sid,
        "status": status,
        "media": list(message.media) or None,
        "location": message.location,
        "reply_body": body,
        "created_at": now,
    }
    # Replies go out inside the webhook response: Twilio sends them, so there is no SID yet.
    outbound = [
        inbound | {"thread_id": reply_thread_id, "direction": "outbound", "text": text, "provider_sid": None,
                   "status": "replied", "media": None, "location": None, "reply_body": None}
        for text in texts
    ]
    return [inbound, *outbound]


def stage_event_rows(lead_id: int, thread_id: int, channel: str, result: StepResult, now: datetime,
                     seconds_in_stage: float | None) -> list[dict[str, Any]]:
    """The turn's stage changes; the first ends the stay the turn started in, later ones begin and end now."""
    changes = [event for event in result.events if event.kind is EventKind.STAGE_CHANGED]
    return [
        {"lead_id": lead_id, "thread_id": thread_id, "from_stage": event.data["from"], "to_stage": event.data["to"],
         "channel": channel, "at": now, "stay_seconds": seconds_in_stage if index == 0 else 0.0}
        for index, event in enumerate(changes)
    ]


_JSON_NULL = cast(literal_column("'null'"), JSON)


def _recordset_insert(table: Table, columns: Sequence[str], name: str) -> Insert:
    """INSERT of the rows given as one JSON array of objects (parameter `name`): the same SQL for any number
    of rows, so it is compiled and prepared once (a multi-row VALUES has a shape per count and is never
    cached). One text parameter costs the driver a fraction of what an array per column did."""
    rows = (func.json_to_recordset(cast(bindparam(name, type_=String()), JSON))
            .table_valued(*(column(name_, table.c[name_].type) for name_ in columns))
            .render_derived(with_types=True))
    # A varchar(n) field refuses a longer text, as the column would. json_to_recordset turns a JSON null
    # into SQL NULL; a JSON column stores None as JSON null elsewhere.
    values = [func.coalesce(rows.c[name_], _JSON_NULL) if isinstance(table.c[name_].type, JSON)
              else rows.c[name_] for name_ in columns]
    return insert(table).from_select(list(columns), select(*values))


# The lead's UPDATE carrying the turn's INSERTs as CTEs; an empty array inserts nothing, so a turn without a
# stage change runs the very same statement.
TURN_STATEMENT = UPDATE_LEAD.add_cte(_recordset_insert(_MESSAGES, MESSAGE_COLUMNS, "turn_messages").cte("turn_messages"),
                                     _recordset_insert(_STAGE_EVENTS, STAGE_EVENT_COLUMNS, "turn_stage_events")
                                     .cte("turn_stage_events"))


def _json(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as the JSON text `_recordset_insert` reads; timestamps in ISO 8601 with their offset."""
    return json.dumps(rows, default=_iso_timestamp, ensure_ascii=False)


def _iso_timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
