"""A reader in headless Chromium: subscribe on a phone-sized screen, confirm by the mailed link,
unsubscribe by the button. The app runs on a loopback server; Chromium is Debian's, driven by Playwright."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.render.test_render_browser import ARTIFACTS
from tests.web.conftest import Web, link_path

pytestmark = pytest.mark.browser


def test_a_reader_subscribes_confirms_and_unsubscribes_in_the_browser(web: Web, site: str, page) -> None:
    page.goto(f"{site}/subscribe")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone
    page.fill("#email", "Kari.Nordmann@example.no")
    page.fill("#name", "Kari")
    page.uncheck("input[name=themes][value=funding]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(Path(ARTIFACTS) / "subscribe-375px.png"), full_page=True)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "inbox" in page.content().lower()
    subscriber = web.svc.store.subscribers.find("kari.nordmann@example.no")
    assert subscriber is not None and subscriber.status == "pending"
    assert subscriber.themes == frozenset({"immuno-oncology", "precision-medicine"})

    [mail] = web.mails()
    page.goto(site + link_path(mail, "confirm"))
    assert web.svc.store.subscribers.find("kari.nordmann@example.no").status == "active"

    from pipeline.jobs.subscribe import unsubscribe_token

    active = web.svc.store.subscribers.find("kari.nordmann@example.no")
    page.goto(f"{site}/unsubscribe/{unsubscribe_token(web.svc, active)}")
    # visiting is not clicking
    assert web.svc.store.subscribers.find("kari.nordmann@example.no").status == "active"
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert web.svc.store.subscribers.find("kari.nordmann@example.no").status == "unsubscribed"
