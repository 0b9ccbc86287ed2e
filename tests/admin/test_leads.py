"""Lead list filters, search, pagination, lead detail and the CSV export."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from flask import Flask
from flask.testing import FlaskClient

from sdr_agent.admin.leads import lead_page
from sdr_agent.admin.filters import BadFilter, LeadFilters
from tests.conftest import BACKEND_MATRIX, Clock

from .conftest import Send, add_lead, play


def seed_rows(app: Flask) -> dict[str, int]:
    return {
        "ana": add_lead(app, number=1, name="Ana Souza", company="Acme", email="ana@acme.com", stage="qualified", score=75),
        "bruno": add_lead(app, number=2, name="Bruno 100%_Lima", company="Globex", stage="budget", score=20,
                          created_at=datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc)),
        "carla": add_lead(app, number=3, name="Carla", stage="handoff", handed_off=True, score=40),
        "dani": add_lead(app, number=4, name="=HYPERLINK(\"http://x\")", stage="consent", opted_out=True),
    }


def ids(app: Flask, **args: str) -> set[int]:
    with app.extensions["sdr_session_factory"]() as session:
        return {row.id for row in lead_page(session, LeadFilters.from_args(args), 1).rows}


@BACKEND_MATRIX
def test_filters_and_search(app: Flask) -> None:
    lead = seed_rows(app)
    assert ids(app) == set(lead.values())
    assert ids(app, stage="budget") == {lead["bruno"]}
    assert ids(app, outcome="qualified") == {lead["ana"]}
    assert ids(app, outcome="handed_off") == {lead["carla"]}
    assert ids(app, outcome="opted_out") == {lead["dani"]}
    assert ids(app, outcome="in_progress") == {lead["bruno"]}
    assert ids(app, score_min="20", score_max="40") == {lead["bruno"], lead["carla"]}
    assert ids(app, created_from="2026-03-05") == {lead["bruno"]}
    assert ids(app, created_to="2026-03-04") == {lead["ana"], lead["carla"], lead["dani"]}
    assert ids(app, q="ACME") == {lead["ana"]}
    assert ids(app, q="100%_") == {lead["bruno"]}  # LIKE wildcards are searched literally
    assert ids(app, q="%") == {lead["bruno"]}
    assert ids(app, q="+55119900000") == set(lead.values())
    assert ids(app, channel="whatsapp") == set()  # rows made by hand have no conversation
    with pytest.raises(BadFilter, match="score_min must be a whole number"):  # nonsense is said, not guessed at
        ids(app, score_min="abc")


def test_channel_filter_follows_conversations(app: Flask, send: Send, clock: Clock) -> None:
    play(send, clock, "+5511911111111", ["Oi"], 1)
    assert len(ids(app, channel="whatsapp")) == 1
    assert ids(app, channel="voice") == set()


def test_pagination(app: Flask, operator: FlaskClient) -> None:
    for number in range(55):
        add_lead(app, number=number, name=f"Lead {number:02d}")
    first = operator.get("/admin/leads").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Lead 54" in first and "Lead 04" not in first
    second = operator.get("/admin/leads?page=2").get_data(as_text=True)
    assert "Lead 04" in second and "Lead 54" not in second
    assert "Page 2 of 2" in operator.get("/admin/leads?page=99").get_data(as_text=True)


@BACKEND_MATRIX
def test_csv_export_has_the_filtered_leads(app: Flask, operator: FlaskClient) -> None:
    lead = seed_rows(app)
    response = operator.get("/admin/export.csv?score_min=20")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="leads-')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [int(row["id"]) for row in rows] == sorted([lead["ana"], lead["bruno"], lead["carla"]])
    ana = rows[0]
    assert (ana["name"], ana["company"], ana["email"], ana["stage"], ana["score"]) == ("Ana Souza", "Acme", "ana@acme.com", "qualified", "75")
    assert ana["phone"] == "+5511990000001"
    assert ana["opted_out"] == "false" and rows[2]["handed_off"] == "true"
    assert ana["created_at"] == "2026-03-01T12:00:00+00:00"


def test_csv_export_neutralises_formulas(app: Flask, operator: FlaskClient) -> None:
    seed_rows(app)
    rows = list(csv.DictReader(io.StringIO(operator.get("/admin/export.csv?outcome=opted_out").get_data(as_text=True))))
    assert rows[0]["name"] == "'=HYPERLINK(\"http://x\")"


FORMULA_STARTS = ("=", "+", "-", "@")
HOSTILE_CELLS = ['x;=HYPERLINK("http://evil.example","ver")', "Acme,=1+1", 'a; "=cmd|\' /C calc\'!A0"',
                 "nota\n@SUM(1,1)", "tab\t-2+3", "; +55 11 9999", "normal, text; fine"]


def test_no_cell_of_the_export_opens_as_a_formula_in_either_locale(app: Flask, operator: FlaskClient) -> None:
    for number, value in enumerate(HOSTILE_CELLS, start=10):
        add_lead(app, number=number, name=value[:120], company=value[:120], need=value)
    body = operator.get("/admin/export.csv").get_data(as_text=True)
    # A pt-BR spreadsheet splits at ";", an en-US one at ","; the worst case ignores the quotes.
    for separator in (";", ","):
        for quoting in (csv.QUOTE_MINIMAL, csv.QUOTE_NONE):
            reader = csv.reader(io.StringIO(body), delimiter=separator, quoting=quoting,
                                escapechar=None if quoting == csv.QUOTE_MINIMAL else "\\")
            for row in reader:
                for cell in row:
                    bare = cell.strip().strip('"').strip()
                    if bare.startswith("+") and bare[1:].isdigit():
                        continue  # a validated E.164 phone number reads as a number, not a formula
                    assert not bare.startswith(FORMULA_STARTS), (separator, quoting, cell)
    # What the operator reads is still the lead's text, only defused.
    parsed = {row["name"] for row in csv.DictReader(io.StringIO(body))}
    assert 'x;\'=HYPERLINK("http://evil.example","ver")' in parsed


def test_lead_page_shows_fields_score_timeline_and_transcript(app: Flask, operator: FlaskClient, send: Send, clock: Clock) -> None:
    play(send, clock, "+5511922222222", ["Oi, quero saber mais", "sim", "Meu nome é ana souza", "Trabalho na Acme Ltda", "1"], 60)
    html = operator.get("/admin/leads/1").get_data(as_text=True)
    assert "Ana Souza" in html and "Acme Ltda" in html and "+5511922222222" in html
    assert "role = founder: +20" in html  # score reasons
    assert "consent → <strong>name</strong>" in html  # stage timeline
    assert "Oi, quero saber mais" in html and "qual é o seu nome?" in html  # both directions
    assert "2026-03-02 13:00:00 UTC · whatsapp · received" in html
    assert "whatsapp · replied" in html
    assert operator.get("/admin/leads/999").status_code == 404
