"""Questions leads asked: the overview's most frequent unanswered ones, the lead page, the exports and erasure."""
from __future__ import annotations

import csv
import io
import json

from flask import Flask
from flask.testing import FlaskClient

from sdr_agent.models import LeadQuestion
from tests.conftest import BACKEND_MATRIX, Clock
from tests.dbcheck import count, lead_by_phone

from .conftest import Send, play

OFFICE = "vocês têm escritório em Portugal?"


def ask_around(send: Send, clock: Clock) -> None:
    """Three leads; two ask the same uncovered question in different spellings, one asks an answered one."""
    play(send, clock, "+5511900000101", ["oi", "sim", OFFICE, "Ana Souza"], 5)
    play(send, clock, "+5511900000102", ["oi", "sim", "Voces tem escritorio em portugal", "vcs aceitam boleto?"], 5)
    play(send, clock, "+5511900000103", ["oi", "sim", "quanto custa?"], 5)


@BACKEND_MATRIX
def test_the_overview_lists_the_most_frequent_unanswered_questions(
    app: Flask, operator: FlaskClient, send: Send, clock: Clock
) -> None:
    ask_around(send, clock)
    page = operator.get("/admin?from=2026-03-01&to=2026-03-03").get_data(as_text=True)
    table = page.split('id="questions-table"')[1].split("</table>")[0]
    rows = [row for row in table.split("<tr>")[2:]]
    assert len(rows) == 2
    assert "portugal" in rows[0].lower() and '<td class="num">2</td><td class="num">2</td>' in rows[0]
    assert "boleto" in rows[1]
    assert "quanto custa" not in table  # answered from the knowledge
    assert count(app, LeadQuestion, answered=True) == 1


def test_lead_page_csv_and_data_export_carry_the_questions_and_erasure_removes_them(
    app: Flask, operator: FlaskClient, send: Send, clock: Clock
) -> None:
    play(send, clock, "+5511900000101", ["oi", "sim", OFFICE, "Ana Souza", "Acme", "pode me ligar amanhã à tarde?"], 5)
    lead = lead_by_phone(app, "+5511900000101")
    page = operator.get(f"/admin/leads/{lead.id}").get_data(as_text=True)
    assert "vocês têm escritório em Portugal?" in page and "amanhã à tarde" in page

    exported = list(csv.DictReader(io.StringIO(operator.get("/admin/export.csv").get_data(as_text=True))))
    assert exported[0]["open_questions"] == OFFICE

    result = app.test_cli_runner().invoke(args=["sdr", "export", "--phone", lead.phone])
    data = json.loads(result.output)
    assert [(q["text"], q["answered"], q["stage"]) for q in data["questions"]] == [(OFFICE, False, "name")]
    assert data["callback"]["when"] == "amanhã à tarde"

    app.extensions["sdr_lead_actions"].erase(lead.id)
    assert count(app, LeadQuestion) == 0
