"""A real browser: headless Chromium chats in the simulator, logs in, sees the funnel and the transcript."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.conftest import unavailable

from .conftest import ADMIN_PASSWORD

CHROMIUM = os.environ.get("SDR_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
TIMEOUT_MS = 15_000


@pytest.fixture
def page(live_server: str) -> Iterator[Any]:
    """A Chromium page (Debian's chromium, driven by Playwright); fails in CI when missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable("Playwright", str(exc))
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(base_url=live_server, viewport={"width": 1200, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            yield context.new_page()
            context.close()
        finally:
            browser.close()


def test_newcomer_chats_in_the_simulator_then_sees_it_in_the_dashboard(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/simulator")
    expect(page.locator("#text")).to_have_value("Olá! Vi o anúncio de vocês e quero saber mais.")
    page.click("#composer button")
    first_question = page.locator("#chat .msg.outbound .bubble").first
    expect(first_question).to_contain_text("Posso fazer algumas perguntas rápidas")
    page.fill("#text", "sim")
    page.press("#text", "Enter")
    expect(page.locator("#chat .msg.outbound .bubble").last).to_contain_text("qual é o seu nome?")
    page.screenshot(path=str(ARTIFACTS / "simulator.png"), full_page=True)

    page.goto("/admin")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("form.card button")
    expect(page.locator("#funnel-chart")).to_be_visible()
    expect(page.locator('#funnel-table tr[data-stage="consent"] .entered')).to_have_text("1")
    expect(page.locator('#funnel-table tr[data-stage="consent"] .reached')).to_have_text("1")
    expect(page.locator('#funnel-table tr[data-stage="name"] .entered')).to_have_text("1")
    page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

    page.click("text=Leads")
    page.click("#leads-table tbody a >> nth=0")
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text("Olá! Vi o anúncio de vocês e quero saber mais.")
    expect(transcript).to_contain_text("Posso fazer algumas perguntas rápidas")
    expect(transcript).to_contain_text("qual é o seu nome?")
    expect(page.locator("#lead-stage")).to_have_text("name")
    page.screenshot(path=str(ARTIFACTS / "lead.png"), full_page=True)
