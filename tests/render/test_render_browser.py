"""The rendered digest in headless Chromium (Debian's `chromium`, driven by Playwright; no browser download).

Opens the personalised HTML at 600 px (desktop clients) and 375 px (phones), asserts nothing overflows
sideways on a phone, and saves screenshots under test-artifacts/ for a person to look at. Images are
answered by the test itself (an SVG), so the page loads with no network.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pipeline.render import personalise, render_digest

from .samples import english_digest, settings

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
THUMBNAIL = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="600" height="400"><defs><linearGradient id="g" x1="0" '
    b'x2="1" y1="0" y2="1"><stop offset="0" stop-color="#0b4f6c"/><stop offset="1" stop-color="#7cc4e4"/>'
    b'</linearGradient></defs><rect width="600" height="400" fill="url(#g)"/>'
    b'<circle cx="300" cy="200" r="90" fill="#ffffff" opacity="0.35"/></svg>'
)
VALUES = {
    "unsubscribe_url": "https://news.example.org/unsubscribe/abc",
    "preferences_url": "https://news.example.org/preferences/abc",
    "name": "Kari Nordmann",
    "email": "kari.nordmann@example.no",
}


def chromium_path() -> str:
    """Debian's chromium; a missing browser fails the test (it must not silently skip)."""
    path = os.environ.get("PIPELINE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail(
            f"Chromium not found at {path}: install Debian's browser with "
            "`apt-get update && apt-get install -y chromium` (or set PIPELINE_CHROMIUM)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[test]'", pytrace=False)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def html() -> str:
    rendered = render_digest(english_digest(), settings(), archive_url="https://news.example.org/archive/7.html")
    return personalise(rendered, VALUES)[0]


def _open(browser, html: str, width: int, scheme: str = "light"):
    page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)

    def answer(route) -> None:
        if route.request.resource_type == "image":
            route.fulfill(body=THUMBNAIL, content_type="image/svg+xml")
        else:
            route.abort()  # nothing else may leave the machine

    page.route("**/*", answer)
    page.set_content(html, wait_until="load")
    return page


def _widths(page) -> tuple[int, int]:
    return tuple(page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]"))


@pytest.mark.parametrize(("width", "scheme"), [(600, "light"), (375, "light"), (375, "dark")])
def test_digest_fits_the_window_and_is_saved_as_a_screenshot(browser, html, width, scheme):
    ARTIFACTS.mkdir(exist_ok=True)
    page = _open(browser, html, width, scheme)
    try:
        scroll_width, inner_width = _widths(page)
        assert scroll_width <= inner_width, f"overflow at {width}px: {scroll_width} > {inner_width}"
        shot = ARTIFACTS / f"digest-{width}px-{scheme}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
    finally:
        page.close()


def test_phone_layout_takes_the_mobile_styles(browser, html):
    page = _open(browser, html, 375)
    try:
        container = page.eval_on_selector("table.container", "el => el.getBoundingClientRect().width")
        thumb = page.eval_on_selector("img.thumb-img", "el => el.getBoundingClientRect().width")
        assert container == 375  # the 600 px table gave way to the media query
        assert thumb == 84
        # Every image loaded (alt text is not standing in for a broken image).
        assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    finally:
        page.close()


def test_dark_mode_changes_the_background(browser, html):
    page = _open(browser, html, 600, "dark")
    try:
        colour = page.eval_on_selector("td.intro", "el => getComputedStyle(el).backgroundColor")
        assert colour == "rgb(27, 31, 36)"
    finally:
        page.close()
