"""Realistic inbound traffic: many leads, each walking through the flow, as pre-signed webhooks."""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sdr_agent.simulator import new_message_sid, sign, whatsapp_form

WHATSAPP_PATH = "/twilio/whatsapp"
# One lead's conversation, from first contact to a qualified lead (default flow, pt-BR).
SCRIPT = ("Oi", "sim", "Ana Souza", "Acme", "1", "Automatizar o atendimento", "50 mil", "este mês", "ana{lead}@acme.com")
MID_FLOW_STEP = 4  # "1" answers the role question: a lead deep in the flow
IN_PROCESS_LEADS = 64  # leads in flight for the in-process measurements (Flask test client)
SignedRequest = tuple[dict[str, str], dict[str, str]]  # the form, and its X-Twilio-Signature header


@dataclass(frozen=True)
class Turn:
    """One inbound message: which lead sends which step of the script."""

    lead: int
    step: int


def phone_of(run: int, lead: int) -> str:
    """A distinct Brazilian mobile number per (run, lead); runs never share leads."""
    return f"+55119{run:02d}{lead:06d}"


def text_of(turn: Turn) -> str:
    """The message text a lead sends at this step."""
    return SCRIPT[turn.step].format(lead=turn.lead)


def turns(count: int, window: int) -> Iterator[Turn]:
    """`count` messages of leads taking turns; a lead that finishes the script makes room for a new one."""
    slots = [Turn(lead, 0) for lead in range(window)]
    next_lead = window
    for produced in range(count):
        index = produced % window
        turn = slots[index]
        yield turn
        if turn.step + 1 < len(SCRIPT):
            slots[index] = Turn(turn.lead, turn.step + 1)
        else:
            slots[index] = Turn(next_lead, 0)
            next_lead += 1


def signed_line(auth_token: str, public_base_url: str, phone: str, text: str) -> str:
    """One replay line: the signature, a tab, the urlencoded form (a fresh MessageSid)."""
    form = whatsapp_form(phone, text, sid=new_message_sid())
    return f"{sign(auth_token, public_base_url + WHATSAPP_PATH, form)}\t{urllib.parse.urlencode(form)}\n"


def write_requests(path: Path, run: int, batch: list[Turn], auth_token: str, public_base_url: str) -> None:
    """Write a replay file for wrk (see replay.lua) holding these turns in order."""
    with path.open("w", encoding="utf-8") as out:
        for turn in batch:
            out.write(signed_line(auth_token, public_base_url, phone_of(run, turn.lead), text_of(turn)))


def completed_leads(batch: list[Turn]) -> set[int]:
    """Leads whose every step is in this batch of turns (sent in order)."""
    return {turn.lead for turn in batch if turn.step == len(SCRIPT) - 1}


def signed_requests(run: int, count: int, auth_token: str, public_base_url: str) -> list[SignedRequest]:
    """`count` messages of leads taking turns, each form signed as Twilio would, for an in-process client."""
    signed_url = public_base_url + WHATSAPP_PATH
    requests = []
    for turn in turns(count, IN_PROCESS_LEADS):
        form = whatsapp_form(phone_of(run, turn.lead), text_of(turn), sid=new_message_sid())
        requests.append((form, {"X-Twilio-Signature": sign(auth_token, signed_url, form)}))
    return requests


def post_signed(client: Any, request: SignedRequest) -> None:
    """POST one signed webhook through a Flask test client; anything but 200 stops the measurement."""
    form, headers = request
    response = client.post(WHATSAPP_PATH, data=form, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"webhook answered {response.status_code}")
