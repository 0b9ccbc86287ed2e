"""A real browser: headless Chromium chats in the simulator, logs in, sees the funnel and the transcript."""
from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import quote

import pytest
from werkzeug.serving import make_server

from sdr_agent.simulator import WebhookClient
from tests.conftest import base_config, close_app, flushed_redis, make_app, unavailable
from tests.dbcheck import lead_by_phone
from tests.reverse_proxy import https_proxy

from .conftest import ADMIN_PASSWORD

CHROMIUM = os.environ.get("SDR_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
TIMEOUT_MS = 15_000
# As the machine's probe starts it: no background calls to a network this machine does not have.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@contextmanager
def chromium_page(base_url: str) -> Iterator[Any]:
    """A Chromium page (Debian's chromium, driven by Playwright) on `base_url`; fails in CI when missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable("Playwright", str(exc))
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            # The proxy's certificate comes from a throwaway authority the browser cannot know.
            context = browser.new_context(base_url=base_url, viewport={"width": 1200, "height": 900},
                                          ignore_https_errors=base_url.startswith("https:"))
            context.set_default_timeout(TIMEOUT_MS)
            yield context.new_page()
            context.close()
        finally:
            browser.close()


@pytest.fixture
def page(live_server: str) -> Iterator[Any]:
    """A Chromium page on the app's development server."""
    with chromium_page(live_server) as chromium:
        yield chromium


def log_in_as_operator(page: Any) -> None:
    """Open the dashboard, get sent to the login form, and log in as a person would."""
    from playwright.sync_api import expect

    page.goto("/admin")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("form.card button")
    expect(page.locator("#funnel-chart")).to_be_visible()


def test_newcomer_chats_in_the_simulator_then_sees_it_in_the_dashboard(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/simulator")
    expect(page).to_have_url(re.compile(r"/admin/login\?next=/simulator"))  # operators only
    page.fill("input[name=password]", ADMIN_PASSWORD)
    page.click("form.card button")
    expect(page).to_have_url(re.compile(r"/simulator$"))
    expect(page.locator("#text")).to_have_value("Olá! Vi o anúncio de vocês e quero saber mais.")
    page.click("#composer button")
    first_question = page.locator("#chat .msg.outbound .bubble").first
    expect(first_question).to_contain_text("Posso fazer algumas perguntas rápidas")
    page.fill("#text", "sim")
    page.press("#text", "Enter")
    expect(page.locator("#chat .msg.outbound .bubble").last).to_contain_text("qual é o seu nome?")
    page.screenshot(path=str(ARTIFACTS / "simulator.png"), full_page=True)

    page.click("text=Dashboard")
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
    log_in_as_operator(page)
    # The lead's words go in through the simulator (the real signed webhook) ...
    page.goto("/simulator")
    phone = page.locator("#phone").input_value()
    expect(page.locator("#text")).not_to_have_value("")  # simulator.js ran: it suggests the opening line
    page.fill("#text", f"Oi {SCRIPT_PAYLOAD} {IMG_PAYLOAD}")
    page.press("#text", "Enter")
    expect(page.locator("#chat .msg.outbound .bubble").first).to_contain_text("Posso fazer algumas perguntas")
    expect(page.locator("#chat .msg.inbound .bubble").first).to_contain_text(SCRIPT_PAYLOAD)
    # ... and the WhatsApp display name, which Twilio relays as the lead set it, too.
    assert send(phone, "sim", ProfileName=IMG_PAYLOAD).status_code == 200

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
    assert send("+5511987650099", "Oi").status_code == 200
    log_in_as_operator(page)
    for path in ("/admin", "/admin/leads", "/admin/leads/1", "/simulator"):
        page.goto(path)
        expect(page.locator("header.top")).to_be_visible()
        # The stylesheet applied: a blocked sheet would leave the header unstyled.
        assert page.evaluate("getComputedStyle(document.querySelector('header.top')).display") == "flex", path
    expect(page.locator("#text")).not_to_have_value("")  # simulator.js ran and suggested the opening line
    assert violations == []


# --- Production behind an HTTPS proxy, as on Render ---------------------------------------------

HTTPS_PHONE = "+5511987650188"


@pytest.fixture
def production_behind_https(database_url: str, redis_server_url: str) -> Iterator[tuple[Any, str]]:
    """The app with SDR_ENV=production under a real HTTP server, reachable only through an HTTPS proxy."""
    app = make_app(base_config(database_url, flushed_redis(redis_server_url), SDR_ENV="production",
                               PUBLIC_BASE_URL="https://sdr.example.com", ADMIN_PASSWORD=ADMIN_PASSWORD,
                               SDR_SIMULATOR="1", SDR_PROXY_HOPS="1"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proxy = https_proxy(f"http://127.0.0.1:{server.server_port}").start()
    try:
        yield app, proxy.url
    finally:
        proxy.stop()
        server.shutdown()
        thread.join(timeout=5)
        close_app(app)


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_every_dashboard_action_works_in_a_browser_behind_an_https_proxy(
        production_behind_https: tuple[Any, str]) -> None:
    from playwright.sync_api import expect

    app, proxy_url = production_behind_https
    for text in ("Oi", "sim", "Ana Souza"):
        WebhookClient(app).send_whatsapp(HTTPS_PHONE, text)
    with chromium_page(proxy_url) as page:
        refused: list[str] = []
        page.on("response", lambda response: refused.append(f"{response.status} {response.url}")
                if response.status == 400 else None)
        log_in_as_operator(page)
        (session_cookie,) = [cookie for cookie in page.context.cookies() if cookie["name"] == "session"]
        assert session_cookie["secure"] and session_cookie["httpOnly"]

        page.click("text=Leads")
        page.click("#leads-table tbody a >> nth=0")
        lead_url = page.url
        page.click("text=Hand off to a person")
        expect(page.locator(".flash")).to_contain_text("Lead handed off")
        page.click("text=Release to the bot")
        expect(page.locator(".flash")).to_contain_text("Lead released")
        page.check("input[name=confirm][value=reset]")
        page.click("text=Reset thread")
        expect(page.locator(".flash")).to_contain_text("Thread reset")
        assert lead_by_phone(app, HTTPS_PHONE).current_thread_id is None

        # The simulator's own script posts with the page's CSRF token, as the browser runs it.
        page.click("header.top >> text=Simulator")
        expect(page.locator("#text")).not_to_have_value("")  # simulator.js ran: it suggests the opening line
        page.fill("#text", "Olá! Quero saber mais.")
        page.press("#text", "Enter")
        expect(page.locator("#chat .msg.outbound .bubble").first).to_contain_text("Posso fazer algumas perguntas")

        page.goto(lead_url)
        page.fill("input[name=confirm]:not([type=checkbox])", "erase")
        page.click("text=Erase lead")
        expect(page.locator(".flash")).to_contain_text("were erased")
        page.screenshot(path=str(ARTIFACTS / "https-actions.png"), full_page=True)

        page.click("text=Log out")
        expect(page).to_have_url(re.compile(r"/admin/login"))
        page.goto("/admin/leads")
        expect(page).to_have_url(re.compile(r"/admin/login"))
        assert refused == []  # not one "400 The referrer header is missing"
