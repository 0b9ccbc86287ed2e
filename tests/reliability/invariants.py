"""What the database must prove after a chaos run, read straight from the tables.

"No skipped stage", precisely: a lead's stage events, in insertion order, form one chain that starts at
`new` (each event's from_stage is the previous event's to_stage), moves only forward in flow order
(question stages in the flow file's order, then a terminal stage; only `qualified -> booked` follows a
terminal stage) and never enters a stage twice. A forward jump over question stages is legitimate only
when the message answered those questions too (a volunteered e-mail, or a reply read as consent), so
every question stage jumped over must have its slot filled in the lead's stored state; a jump to
`handoff` or `declined` may skip anything, because those end the flow early by design.

"No lost answer": every message that got a 2xx is stored once with its reply, and a lead whose
messages were processed in script order (always so for a lead that waits for each answer) has exactly
the stage path the pure engine produces for the script, ending at the same stage.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import create_engine, text

from bench.workload import SCRIPT
from bench.workload import Turn as ScriptTurn
from bench.workload import text_of
from sdr_agent.qualification import STAGE_NEW, TERMINAL_STAGES, EventKind, Flow, Turn, default_flow_path, initial_state
from sdr_agent.qualification import load_flow, step
from tests.reliability.driver import DriveResult
from tests.reliability.workload import BURST, CONCURRENT_DUPLICATE, LATE_DUPLICATE, Plan

EARLY_ENDS = ("handoff", "declined")  # terminal stages a lead may reach from any question
MAX_LISTED = 5  # examples quoted per violation


def script_path(flow: Flow, language: str = "pt-BR") -> list[tuple[str, str]]:
    """The (from, to) stage changes the pure engine makes for the whole script, in order."""
    state = initial_state(language)
    now = datetime.now(timezone.utc)
    path = []
    for step_number in range(len(SCRIPT)):
        result = step(flow, state, Turn(text=text_of(ScriptTurn(0, step_number)), now=now))
        path += [(e.data["from"], e.data["to"]) for e in result.events if e.kind is EventKind.STAGE_CHANGED]
        state = result.state
    return path


def path_violations(flow: Flow, events: list[tuple[str, str]], slots: dict[str, Any], stage: str) -> list[str]:
    """Why this lead's stage events are not a valid path through the flow (empty when they are)."""
    questions = flow.stage_ids
    rank = {STAGE_NEW: 0, **{stage_id: n + 1 for n, stage_id in enumerate(questions)}}
    rank.update({terminal: len(questions) + 1 for terminal in TERMINAL_STAGES})
    problems = []
    previous, seen = STAGE_NEW, {STAGE_NEW}
    for source, target in events:
        if source != previous:
            problems.append(f"{source}->{target} does not start where the last change ended ({previous})")
        if target in seen:
            problems.append(f"{target} entered twice")
        if target not in rank:
            problems.append(f"{target} is no stage of the flow")
        elif rank[target] <= rank.get(source, -1) and (source, target) != ("qualified", "booked"):
            problems.append(f"{source}->{target} goes backwards")
        elif target not in EARLY_ENDS:
            jumped = [q for q in questions if rank.get(source, 0) < rank[q] < rank[target]]
            unfilled = [q for q in jumped if flow.question_stage(q).slot not in slots]
            if unfilled:
                problems.append(f"{source}->{target} skips unanswered {','.join(unfilled)}")
        previous = target
        seen.add(target)
    if stage != previous:
        problems.append(f"lead is at {stage} but its last stage change went to {previous}")
    return problems


@dataclass
class Audit:
    """The invariants that failed, and the run's figures."""

    violations: list[str] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)

    def fail(self, what: str, examples: list[Any]) -> None:
        """Record a violation with its count and a few examples."""
        if examples:
            self.violations.append(f"{what}: {len(examples)} (e.g. {examples[:MAX_LISTED]})")

    def summary(self, label: str) -> str:
        """One line of figures for the test report."""
        parts = " ".join(f"{key}={value:.1f}" if isinstance(value, float) else f"{key}={value}"
                         for key, value in self.figures.items())
        return f"[{label}] {parts} violations={len(self.violations)}"


def audit(database_url: str, plan: Plan, result: DriveResult, *, allowed_5xx: int = 0,
          flow: Flow | None = None) -> Audit:
    """Check every invariant against the database and the driver's record; never raises on a violation."""
    flow = flow or load_flow(default_flow_path())
    report = Audit()
    rows = _read(database_url)
    phones = {phone: lead for lead, phone in plan.phones().items()}
    acked = result.acked_bodies()
    inbound = rows["inbound"]
    stored = Counter(row["provider_sid"] for row in inbound)

    report.fail("acked but not stored (lost)", sorted(set(acked) - set(stored)))
    report.fail("stored more than once", [sid for sid, n in stored.items() if n > 1] + rows["twice"])
    report.fail("stored but not in the plan", sorted(set(stored) - set(plan.messages)))
    report.fail("never acked despite retries", sorted(set(plan.messages) - set(acked)))
    report.fail("abandoned by the driver", result.abandoned)
    report.fail("requests rejected (4xx)", [a.sid for a in result.attempts if a.status and 400 <= a.status < 500])
    server_errors = result.server_errors
    if server_errors > allowed_5xx:
        report.violations.append(f"5xx answers: {server_errors} (allowed {allowed_5xx})")

    replies = {row["provider_sid"]: row["reply_body"] for row in inbound}
    report.fail("stored without a reply", [sid for sid, body in replies.items() if not body])
    report.fail("answered with differing bodies (processed twice)",
                [sid for sid, bodies in acked.items() if len(set(bodies)) > 1
                 or (sid in replies and bodies[0] != (replies[sid] or "").encode("utf-8"))])
    expected_outbound: Counter[int] = Counter()
    for row in inbound:
        expected_outbound[row["lead_id"]] += (row["reply_body"] or "").count("<Message>")
    report.fail("outbound rows that do not match the stored replies",
                [(lead, rows["outbound"].get(lead, 0), n) for lead, n in expected_outbound.items()
                 if rows["outbound"].get(lead, 0) != n])

    expected_path = script_path(flow)
    by_lead: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in inbound:
        by_lead[row["lead_id"]].append(row)
    bad_paths, off_script, in_order = [], [], set()
    for lead in rows["leads"]:
        state = lead["state"] if isinstance(lead["state"], dict) else json.loads(lead["state"] or "{}")
        events = rows["events"].get(lead["id"], [])
        problems = path_violations(flow, events, state.get("slots") or {}, lead["stage"])
        if problems:
            bad_paths.append((phones.get(lead["phone"]), problems[:2]))
        steps = [plan.messages[row["provider_sid"]].step for row in sorted(by_lead[lead["id"]], key=lambda r: r["id"])
                 if row["provider_sid"] in plan.messages]
        if steps == list(range(len(SCRIPT))):
            in_order.add(phones.get(lead["phone"]))
            if events != expected_path:
                off_script.append((phones.get(lead["phone"]), events[-1:] if events else []))
    report.fail("stage histories that are no valid path", bad_paths)
    report.fail("leads in script order whose path differs from the engine's", off_script)
    sequential = [lead for lead in range(len(plan.leads)) if lead not in plan.burst_leads]
    # A lead that waits for each answer can only be processed in script order, whatever failed on the way.
    report.fail("leads that waited for each answer but were processed out of order",
                [lead for lead in sequential if lead not in in_order])
    stored_leads = {phones.get(lead["phone"]) for lead in rows["leads"]}
    report.fail("leads never stored", [lead for lead in range(len(plan.leads)) if lead not in stored_leads])

    report.figures = {
        "leads": len(plan.leads),
        "messages": len(plan.messages),
        "planned_requests": plan.deliveries,
        "duplicates": plan.duplicates,
        "concurrent_dups": plan.count(CONCURRENT_DUPLICATE),
        "late_dups": plan.count(LATE_DUPLICATE),
        "bursts": plan.count(BURST),
        "sent": len(result.attempts),
        "http_2xx": sum(a.acked for a in result.attempts),
        "http_5xx": server_errors,
        "conn_errors": result.connection_errors,
        "retries": result.retries,
        "stored": len(stored),
        "lost": len(set(acked) - set(stored)),
        "duplicated": sum(n - 1 for n in stored.values()) + len(rows["twice"]),
        "bad_paths": len(bad_paths),
        "in_order_leads": len(in_order),
        "sequential_leads": len(sequential),
        "wall_s": round(result.elapsed_s, 1),
    }
    return report


def _read(database_url: str) -> dict[str, Any]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            inbound = [dict(row._mapping) for row in connection.execute(text(
                "SELECT id, lead_id, provider_sid, reply_body FROM messages WHERE direction = 'inbound'"))]
            twice = [row[0] for row in connection.execute(text(
                "SELECT provider_sid FROM messages WHERE provider_sid IS NOT NULL "
                "GROUP BY provider_sid HAVING count(*) > 1"))]
            outbound = dict(connection.execute(text(
                "SELECT lead_id, count(*) FROM messages WHERE direction = 'outbound' GROUP BY lead_id")).all())
            leads = [dict(row._mapping) for row in connection.execute(text("SELECT id, phone, stage, state FROM leads"))]
            events: dict[int, list[tuple[str, str]]] = defaultdict(list)
            for lead_id, source, target in connection.execute(text(
                    "SELECT lead_id, from_stage, to_stage FROM stage_events ORDER BY lead_id, id")):
                events[lead_id].append((source, target))
    finally:
        engine.dispose()
    return {"inbound": inbound, "twice": twice, "outbound": outbound, "leads": leads, "events": events}
