"""Hostile search and filter strings reach SQL as values: the right rows, never an error, on both databases."""
from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import BOTH_DATABASES

from .conftest import add_lead

LEAD_LINK = re.compile(r'href="/admin/leads/(\d+)"')


def seed(app: Flask) -> dict[str, int]:
    """Leads whose fields hold the characters SQL and LIKE treat specially."""
    return {
        "plain": add_lead(app, number=1, name="Ana Souza", company="Acme"),
        "quote": add_lead(app, number=2, name="Sean O'Brien", company="Globex"),
        "percent": add_lead(app, number=3, name="Bruno Lima", company="100% Vendas"),
        "underscore": add_lead(app, number=4, name="Carla", company="dev_ops ltda", email="carla_m@x.io"),
        "backslash": add_lead(app, number=5, name="Dani", company="C:\\Temp Corp"),
        "slash": add_lead(app, number=6, name="Edu", company="A/B Testes"),
        "sql": add_lead(app, number=7, name="Fabi", company="'; DROP TABLE leads; --"),
    }


def listed(client: FlaskClient, **args: str) -> set[int]:
    """Lead ids the list page shows for these query-string values."""
    response = client.get(f"/admin/leads?{urlencode(args)}")
    assert response.status_code == 200, (args, response.status_code)
    return {int(found) for found in LEAD_LINK.findall(response.get_data(as_text=True))}


def exported(client: FlaskClient, **args: str) -> set[int]:
    response = client.get(f"/admin/export.csv?{urlencode(args)}")
    assert response.status_code == 200, (args, response.status_code)
    return {int(row["id"]) for row in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}


@BOTH_DATABASES
def test_search_strings_with_sql_and_like_syntax_match_literally(app: Flask, operator: FlaskClient) -> None:
    lead = seed(app)
    everyone = set(lead.values())
    cases = {
        "' OR 1=1 --": set(),
        "' OR '1'='1": set(),
        "\" OR \"\"=\"": set(),
        "1; DELETE FROM leads": set(),
        "O'Brien": {lead["quote"]},
        "%": {lead["percent"]},
        "100%": {lead["percent"]},
        "_": {lead["underscore"]},
        "d_v": set(),  # as a wildcard `_` would match "dev"
        "\\": {lead["backslash"]},
        "C:\\T": {lead["backslash"]},
        "/": {lead["slash"]},
        "'; DROP TABLE leads; --": {lead["sql"]},
        "%%": set(),
        "[a-z]": set(),
        "*": set(),
        "ACME": {lead["plain"]},
    }
    for query, expected in cases.items():
        assert listed(operator, q=query) == expected, query
        assert exported(operator, q=query) == expected, query
    assert listed(operator) == everyone  # and the table is still whole


@BOTH_DATABASES
def test_hostile_filter_values_are_ignored_or_match_nothing(app: Flask, operator: FlaskClient) -> None:
    lead = seed(app)
    everyone = set(lead.values())
    assert listed(operator, stage="' OR 1=1 --") == set()
    assert listed(operator, stage="name' --") == set()
    assert listed(operator, outcome="qualified' OR '1'='1") == everyone  # not an outcome: ignored
    assert listed(operator, channel="whatsapp' OR 1=1 --") == everyone
    # Numbers and dates that are not numbers and dates are refused with the reason, before any SQL.
    for args in ({"score_min": "0 OR 1=1"}, {"score_max": "-1; --"}, {"created_from": "2026-01-01' --"},
                 {"created_to": "'; --"}, {"page": "1 OR 1=1"}):
        response = operator.get(f"/admin/leads?{urlencode(args)}")
        assert response.status_code == 400, args
        assert f"{next(iter(args))} must be" in response.get_data(as_text=True)
    assert listed(operator) == everyone
    assert listed(operator, q="Ana\x00Souza") == set()
    assert listed(operator, q="\x00") == everyone  # nothing left to search for
    assert listed(operator, stage="\x00name") == everyone  # NUL dropped: every seeded lead is at `name`
    assert listed(operator, q="🙂 مرحبا \u202e") == set()
    assert listed(operator, q="x" * 5000) == set()
