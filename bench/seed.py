"""Bulk seeder: a database as large as a busy deployment's, filled in seconds by PostgreSQL itself.

Rows are generated server side with generate_series (no Python loop, no round trip per
row): leads with one thread each, ten messages per lead (alternating inbound/outbound,
inbound ones with unique MessageSids) and two stage events per lead. Seeded phones start
with +5521 and never collide with the benchmark's traffic (+5511).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import ProgrammingError

MESSAGES_PER_LEAD = 10
SEED_STAGES = ("consent", "name", "company", "role", "need", "budget", "timeline", "email", "qualified",
               "disqualified")

_LEADS = """
INSERT INTO leads (phone, phone_hash, name, company, language, stage, score, opted_out, handed_off, state,
                   last_inbound_at, created_at, updated_at)
SELECT '+5521' || (900000000 + i), encode(sha256(('seed-' || i)::bytea), 'hex'),
       'Lead ' || i, 'Company ' || (i % 5000), 'pt-BR', (CAST(:stages AS text[]))[1 + i % :stage_count], i % 100,
       false, false, '{}'::json, now() - (i || ' minutes')::interval, now() - (i || ' minutes')::interval, now()
FROM generate_series(1, :leads) AS i
"""
_THREADS = """
INSERT INTO conversation_threads (lead_id, channel, started_at)
SELECT id, 'whatsapp', created_at FROM leads WHERE phone LIKE '+5521%'
"""
_POINT_AT_THREADS = """
UPDATE leads SET current_thread_id = t.id FROM conversation_threads t WHERE t.lead_id = leads.id
AND leads.phone LIKE '+5521%'
"""
_MESSAGES = """
INSERT INTO messages (lead_id, thread_id, direction, channel, text, provider_sid, status, reply_body, created_at)
SELECT l.id, l.current_thread_id,
       CASE WHEN k % 2 = 0 THEN 'inbound' ELSE 'outbound' END, 'whatsapp', 'mensagem ' || k,
       CASE WHEN k % 2 = 0 THEN 'SM' || md5(l.id || '-' || k) END,
       CASE WHEN k % 2 = 0 THEN 'received' ELSE 'replied' END,
       CASE WHEN k % 2 = 0 THEN '<Response><Message>ok</Message></Response>' END,
       l.created_at + (k || ' seconds')::interval
FROM leads l CROSS JOIN generate_series(0, :per_lead - 1) AS k
WHERE l.phone LIKE '+5521%'
"""
_STAGE_EVENTS = """
INSERT INTO stage_events (lead_id, thread_id, from_stage, to_stage, channel, at, stay_seconds)
SELECT id, current_thread_id, 'new', 'consent', 'whatsapp', created_at, NULL FROM leads WHERE phone LIKE '+5521%'
UNION ALL
SELECT id, current_thread_id, 'consent', stage, 'whatsapp', created_at + interval '1 minute', 60
FROM leads WHERE phone LIKE '+5521%' AND stage <> 'consent'
"""
_HISTORY = """
INSERT INTO messages (lead_id, thread_id, direction, channel, text, provider_sid, status, reply_body, created_at)
SELECT l.id, l.current_thread_id,
       CASE WHEN k % 2 = 0 THEN 'inbound' ELSE 'outbound' END, 'whatsapp', 'histórico ' || k,
       CASE WHEN k % 2 = 0 THEN 'SM' || md5('history-' || l.id || '-' || k) END,
       CASE WHEN k % 2 = 0 THEN 'received' ELSE 'replied' END, NULL,
       now() - interval '2 hours' + (k || ' seconds')::interval
FROM leads l CROSS JOIN generate_series(0, :count - 1) AS k
WHERE l.id = :lead_id
"""


@dataclass(frozen=True)
class SeedResult:
    """What the seeder added and how long PostgreSQL took."""

    leads: int
    messages: int
    seconds: float


def seed(engine: Engine, leads: int) -> SeedResult:
    """Add `leads` leads with ten messages each, in one transaction, then VACUUM (ANALYZE) and CHECKPOINT."""
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(_LEADS), {"stages": list(SEED_STAGES), "stage_count": len(SEED_STAGES), "leads": leads})
        connection.execute(text(_THREADS))
        connection.execute(text(_POINT_AT_THREADS))
        connection.execute(text(_MESSAGES), {"per_lead": MESSAGES_PER_LEAD})
        connection.execute(text(_STAGE_EVENTS))
    settle(engine)
    return SeedResult(leads, leads * MESSAGES_PER_LEAD, time.perf_counter() - started)


def settle(engine: Engine) -> None:
    """Leave the database as a running one would be after a bulk load, before anything is measured on it."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        # Fresh statistics and a vacuumed heap, as autovacuum leaves them after a while (plans must
        # reflect the size), and the load's dirty pages written out: otherwise the measured run after
        # it pays for the first vacuum and a checkpoint of a million rows, or not, by chance of timing.
        connection.execute(text("VACUUM (ANALYZE)"))
        try:
            connection.execute(text("CHECKPOINT"))
        except ProgrammingError:
            pass  # a role without pg_checkpoint: PostgreSQL checkpoints on its own schedule


def add_history(engine: Engine, lead_id: int, count: int) -> None:
    """Give one lead `count` older messages in its current thread."""
    with engine.begin() as connection:
        connection.execute(text(_HISTORY), {"lead_id": lead_id, "count": count})
