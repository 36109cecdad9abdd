"""An editor in headless Chromium: log in, find an item's themes and evidence, pin it, mark another as
noise with a reason, on a phone-sized screen. The app runs on a loopback server (see conftest)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.render.test_render_browser import ARTIFACTS
from tests.web.conftest import EDITOR, PASSWORD, Reviewed

pytestmark = pytest.mark.browser


def test_an_editor_reviews_items_in_the_browser(reviewed: Reviewed, site: str, page) -> None:
    reviewed.web.client.post("/auth/logout")  # the browser logs in by itself
    page.goto(f"{site}/review/items")
    assert "/auth/login" in page.url  # no review without a login
    page.fill("input[name=email]", EDITOR)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/review/items")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # fits a phone

    trial = page.locator(f"#item-{reviewed.ids['trial']}")
    assert "immunotherapy in title" in trial.inner_text()
    trial.locator("button", has_text="Pin").click()
    page.wait_for_load_state()
    assert "pin saved" in page.inner_text("[role=status]")
    assert page.locator(f"#item-{reviewed.ids['trial']} .badge", has_text="pinned").count() == 1

    party = page.locator(f"#item-{reviewed.ids['party']}")
    party.locator("input[name=value][placeholder=reason]").fill("Internal event")
    party.locator("button", has_text="Mark noise").click()
    page.wait_for_load_state()
    assert reviewed.item("party")["noise"] == "Internal event"
    assert "noise: Internal event" in page.locator(f"#item-{reviewed.ids['party']}").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(Path(ARTIFACTS) / "review-375px.png"), full_page=True)
