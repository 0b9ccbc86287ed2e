"""The chaos workload: leads walking the flow with real answers, duplicates and bursts, pre-signed."""
from __future__ import annotations

import random
import urllib.parse
from dataclasses import dataclass, field

from bench.environment import AUTH_TOKEN, PUBLIC_BASE_URL
from bench.workload import SCRIPT, WHATSAPP_PATH, Turn, phone_of, text_of
from sdr_agent.simulator import new_message_sid, sign, whatsapp_form

SINGLE = "single"
CONCURRENT_DUPLICATE = "concurrent_duplicate"  # both copies in flight at once
LATE_DUPLICATE = "late_duplicate"  # the same request again, after the lead has moved on
BURST = "burst"
BURST_SIZE = 5
BURST_SPREAD_S = 0.08  # the 5 messages leave within 100 ms
BURST_FIRST_STEP = 2  # name, company, role, need, budget: answers typed in quick succession
LATE_DUPLICATE_LAG = 2  # a late copy is sent after this many later messages of the lead


@dataclass(frozen=True)
class Delivery:
    """One signed webhook request; sending it again is exactly what a Twilio retry is."""

    sid: str
    lead: int
    step: int
    phone: str
    signature: str
    body: bytes


@dataclass(frozen=True)
class Job:
    """Requests one connection slot sends together: (offset in seconds, delivery), each on its own connection."""

    kind: str
    sends: tuple[tuple[float, Delivery], ...]


@dataclass
class Plan:
    """Every lead's jobs in the order the lead sends them, and every distinct message by SID."""

    run: int
    leads: list[list[Job]]
    messages: dict[str, Delivery] = field(default_factory=dict)
    burst_leads: set[int] = field(default_factory=set)

    @property
    def deliveries(self) -> int:
        """Requests the plan sends when nothing fails (duplicates included, Twilio retries not)."""
        return sum(len(job.sends) for jobs in self.leads for job in jobs)

    @property
    def duplicates(self) -> int:
        """Requests that repeat a message already in the plan."""
        return self.deliveries - len(self.messages)

    def count(self, kind: str) -> int:
        """Jobs of one kind."""
        return sum(job.kind == kind for jobs in self.leads for job in jobs)

    def phones(self) -> dict[int, str]:
        """Lead number -> phone number."""
        return {lead: phone_of(self.run, lead) for lead in range(len(self.leads))}


def signed_delivery(run: int, lead: int, step: int, auth_token: str = AUTH_TOKEN,
                    public_base_url: str = PUBLIC_BASE_URL) -> Delivery:
    """The webhook Twilio would send for this lead's script step, with a fresh MessageSid."""
    phone = phone_of(run, lead)
    sid = new_message_sid()
    form = whatsapp_form(phone, text_of(Turn(lead, step)), sid=sid)
    signature = sign(auth_token, public_base_url + WHATSAPP_PATH, form)
    return Delivery(sid, lead, step, phone, signature, urllib.parse.urlencode(form).encode("ascii"))


def build_plan(leads: int, duplicates: int, burst_share: float, *, concurrent_share: float = 0.5, seed: int = 8,
               run: int = 1) -> Plan:
    """`leads` leads sending the whole script; `duplicates` extra copies; `burst_share` of leads type in bursts.

    A duplicate is either concurrent (both copies sent at the same instant on two connections) or late
    (sent again after the lead's next messages). Messages of a burst are only ever duplicated late.
    """
    rng = random.Random(seed)
    plan = Plan(run=run, leads=[])
    bursting = set(rng.sample(range(leads), round(leads * burst_share)))
    plan.burst_leads = bursting
    deliveries = [[signed_delivery(run, lead, step) for step in range(len(SCRIPT))] for lead in range(leads)]
    for lead_messages in deliveries:
        plan.messages.update((message.sid, message) for message in lead_messages)
    chosen = rng.sample([(lead, step) for lead in range(leads) for step in range(len(SCRIPT))], duplicates)
    concurrent = {pick for pick in chosen if rng.random() < concurrent_share}
    late = set(chosen) - concurrent
    for lead in range(leads):
        in_burst = range(BURST_FIRST_STEP, BURST_FIRST_STEP + BURST_SIZE) if lead in bursting else range(0)
        jobs: list[Job] = []
        pending_late: list[tuple[int, Delivery]] = []  # (send after this many more jobs, delivery)
        for step, message in enumerate(deliveries[lead]):
            if step in in_burst and step != in_burst[0]:
                continue
            if step in in_burst:
                burst = deliveries[lead][step:step + BURST_SIZE]
                spacing = BURST_SPREAD_S / (BURST_SIZE - 1)
                jobs.append(Job(BURST, tuple((index * spacing, part) for index, part in enumerate(burst))))
                pending_late += [(LATE_DUPLICATE_LAG, part) for part in burst if (lead, part.step) in chosen]
            elif (lead, step) in concurrent:
                jobs.append(Job(CONCURRENT_DUPLICATE, ((0.0, message), (0.0, message))))
            else:
                jobs.append(Job(SINGLE, ((0.0, message),)))
                if (lead, step) in late:
                    pending_late.append((LATE_DUPLICATE_LAG, message))
            still_waiting = []
            for lag, copy in pending_late:
                if lag == 0:
                    jobs.append(Job(LATE_DUPLICATE, ((0.0, copy),)))
                else:
                    still_waiting.append((lag - 1, copy))
            pending_late = still_waiting
        jobs += [Job(LATE_DUPLICATE, ((0.0, copy),)) for _, copy in pending_late]
        plan.leads.append(jobs)
    return plan
