"""The search page in Debian's headless chromium (``make install-browser``), driven by
Playwright: type a query, see hits whose matched terms are highlighted.

Every run takes a screenshot; ``LSR_SAVE_SCREENSHOT=1`` writes it over reports/service-page.png
(otherwise a test run would change a tracked file)."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import ROOT, requires_shared
from service_fixtures import API_KEY, server, splade_index

from lsr.atomic import atomic_path

pytestmark = [
    requires_shared,
    pytest.mark.skipif(shutil.which("chromium") is None, reason="run `make install-browser`"),
]

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = ROOT / "reports" / "service-page.png"


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser.new_page(viewport={"width": 1100, "height": 1000})
        browser.close()


def open_with_key(page, url: str, key: str) -> None:
    page.goto(url + "/")
    page.click("#key-box summary")
    page.fill("#api-key", key)
    page.dispatch_event("#api-key", "change")


def test_a_typed_query_shows_hits_with_highlighted_terms(server, page, tmp_path):
    open_with_key(page, server.url, API_KEY)
    page.fill("#query", "vitamin D deficiency and bone fractures")
    page.press("#query", "Enter")
    page.wait_for_selector("#hits .hit")
    hits = page.locator("#hits .hit")
    assert hits.count() == 10
    first = hits.nth(0)
    assert "score" in first.locator(".hit-meta").inner_text()
    marked = {m.lower() for m in first.locator("mark").all_inner_texts()}
    assert "vitamin" in marked
    assert "round trip" in page.locator("#status").inner_text()
    target = SCREENSHOT if os.environ.get("LSR_SAVE_SCREENSHOT") == "1" else tmp_path / "page.png"
    with atomic_path(target) as tmp:
        page.screenshot(path=str(tmp), type="png")
    assert target.stat().st_size > 10_000


def test_a_rejected_query_shows_the_error(server, page):
    open_with_key(page, server.url, "wrong-key")
    page.fill("#query", "vitamin")
    page.press("#query", "Enter")
    page.wait_for_selector("#status.error")
    assert "X-API-Key" in page.locator("#status").inner_text()
