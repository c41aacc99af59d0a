"""`labreport preview` in a real browser: Debian's Chromium, headless, driven by Playwright.

On a tiny lab: load the page and read its heading, edit the template and see the new text
without a reload (the scroll position kept), break the template and see the error with its
file and line, fix it and see the page recover. Every wait is on a condition in the page.
Skipped where Chromium is not installed (`apt-get install chromium`; `.ci/run` installs it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import labreport
from tests.test_preview import TITLE_LINE, WAIT_S, Preview, edit, line_of, own_template

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Chromium: apt-get install chromium"),
]
# No network, no first-run work: the machine has no internet and the browser must not wait for it.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = WAIT_S * 1000


@pytest.fixture
def browser(tmp_path):
    with playwright.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh profile each time
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1000, "height": 1200},
        )
        try:
            yield context.new_page()
        finally:
            context.close()


def test_the_page_follows_a_template_edit_shows_the_error_and_recovers(tiny_lab, browser, tmp_path):
    expect = playwright.expect
    labreport(tiny_lab, "run", "--only", "fit.lr", check=0)  # a real run: its figures and tables are on the page
    template = own_template(tiny_lab)
    preview = Preview(tiny_lab)
    try:
        browser.goto(preview.url)
        title = browser.locator("h1.title").first
        expect(title).to_have_text("Lab 13: PyTorch — Lab Report", timeout=TIMEOUT_MS)
        expect(browser.locator(".lr-page").nth(1)).to_be_visible(timeout=TIMEOUT_MS)  # page boxes, not one column
        pages = browser.locator(".lr-page").count()
        expect(browser.locator(".lr-bottom-center").first).to_have_text(f"Page 1 of {pages}")  # the @page footer
        expect(browser.locator(".lr-page img.figure-image").first).to_be_visible()
        browser.screenshot(path=tmp_path / "preview.png", full_page=False)

        browser.evaluate("window.scrollTo(0, 1500); window.notReloaded = true")
        edit(template, TITLE_LINE, '<h1 class="title">{{ title }} (restyled)</h1>')
        expect(title).to_have_text("Lab 13: PyTorch — Lab Report (restyled)", timeout=TIMEOUT_MS)
        assert browser.evaluate("[window.notReloaded, window.scrollY]") == [True, 1500]

        edit(template, "(restyled)</h1>", "(restyled)</h1>{% if %}")
        error = browser.locator("#labreport-preview-error")
        expect(error).to_contain_text(
            f"report.html.j2:{line_of(template, '{% if %}')}: template syntax error", timeout=TIMEOUT_MS
        )
        expect(error).to_contain_text("showing the last good render")
        expect(title).to_have_text("Lab 13: PyTorch — Lab Report (restyled)")
        browser.screenshot(path=tmp_path / "preview-error.png")

        edit(template, "(restyled)</h1>{% if %}", "(fixed)</h1>")
        expect(title).to_have_text("Lab 13: PyTorch — Lab Report (fixed)", timeout=TIMEOUT_MS)
        expect(error).to_have_count(0)
        assert browser.evaluate("window.notReloaded")
    finally:
        stopped = preview.stop()
    assert stopped.returncode == 0, stopped.stderr
