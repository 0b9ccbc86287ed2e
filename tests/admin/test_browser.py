"""A real browser: headless Chromium chats in the simulator, logs in, sees the funnel and the transcript."""
from __future__ import annotations

import os
import re
from urllib.parse import quote
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


SCRIPT_PAYLOAD = "<script>window.__pwned = 'script'; alert('script')</script>"
IMG_PAYLOAD = "<img src=x onerror=\"window.__pwned = 'img'; alert('img')\">"
XSS_PHONE = "+5511987650099"


def watch_for_injection(page: Any) -> tuple[list[str], list[str]]:
    """Record every dialog the page opens and every Content-Security-Policy violation it reports."""
    dialogs: list[str] = []
    violations: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    return dialogs, violations


def test_html_and_script_in_what_a_lead_sends_are_shown_as_text_and_never_run(page: Any, send: Any) -> None:
    from playwright.sync_api import expect

    dialogs, violations = watch_for_injection(page)
    # The lead's words go in through the simulator (the real signed webhook) ...
    page.goto("/simulator")
    page.fill("#phone", XSS_PHONE)
    page.dispatch_event("#phone", "change")
    page.fill("#text", f"Oi {SCRIPT_PAYLOAD} {IMG_PAYLOAD}")
    page.press("#text", "Enter")
    expect(page.locator("#chat .msg.outbound .bubble").first).to_contain_text("Posso fazer algumas perguntas")
    expect(page.locator("#chat .msg.inbound .bubble").first).to_contain_text(SCRIPT_PAYLOAD)
    # ... and the WhatsApp display name, which Twilio relays as the lead set it, too.
    assert send(XSS_PHONE, "sim", ProfileName=IMG_PAYLOAD).status_code == 200

    page.goto("/admin/login")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("form.card button")
    expect(page.locator("#funnel-chart")).to_be_visible()
    # A search string is echoed into the search box: it must stay a value, not become markup.
    page.goto("/admin/leads?q=" + quote(f"\"><script>window.__pwned='search'</script>{IMG_PAYLOAD}"))
    expect(page.locator("input[name=q]")).to_have_value(f"\"><script>window.__pwned='search'</script>{IMG_PAYLOAD}")
    page.goto("/admin/leads")
    page.click("#leads-table tbody a >> nth=0")

    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text(SCRIPT_PAYLOAD)
    expect(transcript).to_contain_text(IMG_PAYLOAD)
    expect(page.locator("h1")).to_contain_text(IMG_PAYLOAD)
    assert page.locator("#transcript script, #transcript img, h1 img").count() == 0
    page.screenshot(path=str(ARTIFACTS / "lead-with-markup.png"), full_page=True)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert violations == []  # nothing was even attempted: escaping held, CSP had nothing to block


def test_the_pages_need_nothing_their_content_security_policy_blocks(page: Any, send: Any) -> None:
    from playwright.sync_api import expect

    _dialogs, violations = watch_for_injection(page)
    assert send(XSS_PHONE, "Oi").status_code == 200
    page.goto("/admin/login")
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("form.card button")
    for path in ("/admin", "/admin/leads", "/admin/leads/1", "/simulator"):
        page.goto(path)
        expect(page.locator("header.top")).to_be_visible()
        # The stylesheet applied: a blocked sheet would leave the header unstyled.
        assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "flex", path
    expect(page.locator("#text")).not_to_have_value("")  # simulator.js ran and suggested the opening line
    assert violations == []
