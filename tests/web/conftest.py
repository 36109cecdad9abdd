"""The web app on a real SQLite store in tmp_path, with CSRF on, and an outbox folder to read mail from."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from pipeline import jobs
from pipeline.config import parse_config
from pipeline.jobs import Services
from pipeline.store import Store
from pipeline.types import ParsedItem
from pipeline.web import create_app

SECRET = "x" * 32

CONFIG = """\
settings:
  public_url: https://news.example.org
  delivery: {{provider: outbox, outbox_dir: "{outbox}", from: "Cluster News <news@example.org>"}}
sources:
  - {{id: beta, name: Beta News, kind: feed, url: "https://example.org/beta.xml"}}
themes:
  immuno-oncology:
    label: Immuno-oncology
    label_no: Immunonkologi
    terms: {{en: [immunotherapy], "no": [immunterapi]}}
  precision-medicine:
    label: Precision medicine
    label_no: Presisjonsmedisin
    terms: {{en: [genomics], "no": [genomikk]}}
  funding:
    label: Funding and investment
    terms: {{en: [funding], "no": [finansiering]}}
"""

THEMES = ["immuno-oncology", "precision-medicine", "funding"]
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class Web:
    app: Flask
    client: FlaskClient
    svc: Services
    outbox: Path

    def csrf_token(self, path: str) -> str:
        """Fetch a page and read its CSRF token, as a browser submitting the form would."""
        page = self.client.get(path)
        assert page.status_code == 200, page.status_code
        match = CSRF_FIELD.search(page.get_data(as_text=True))
        assert match, f"no CSRF field on {path}"
        return match.group(1)

    def mails(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(p.read_bytes(), policy=email.policy.default)  # type: ignore[misc]
            for p in sorted(self.outbox.glob("*.eml"))
        ]

    def subscribe(self, address: str, **fields: object) -> int:
        form: dict[str, object] = {"email": address, "name": "", "language": "en", "themes": THEMES}
        form.update(fields)
        form["csrf_token"] = self.csrf_token("/subscribe")
        return self.client.post("/subscribe", data=form).status_code


def link_path(mail: EmailMessage, purpose: str) -> str:
    """The path of the first `https://news.example.org/{purpose}/...` link in the plain-text part."""
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    match = re.search(rf"https://news\.example\.org/{purpose}/\S+", body)
    assert match, body
    return urlsplit(match.group(0)).path


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    outbox = tmp_path / "outbox"
    store = Store.open(f"sqlite:///{tmp_path}/pipeline.db", require_schema=False)
    store.upgrade()
    svc = Services(
        config=parse_config(CONFIG.format(outbox=outbox)),
        store=store,
        env={
            "PIPELINE_SECRET_KEY": SECRET,
            "MAILGUN_WEBHOOK_SIGNING_KEY": "mailgun-signing-key",
            "POSTMARK_WEBHOOK_USER": "postmark",
            "POSTMARK_WEBHOOK_PASSWORD": "hook-password",
        },
    )
    app = create_app(svc)  # CSRF stays on: the tests post forms the way a browser does
    yield Web(app=app, client=app.test_client(), svc=svc, outbox=outbox)
    store.close()


@pytest.fixture
def site(web: Web) -> Iterator[str]:
    """The app on a loopback server, for a browser."""
    server = make_server("127.0.0.1", 0, web.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@pytest.fixture
def page():  # type: ignore[no-untyped-def]
    """A phone-sized page of Debian's headless Chromium, driven by Playwright."""
    from playwright.sync_api import sync_playwright

    from tests.render.test_render_browser import LAUNCH_ARGS, chromium_path

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 375, "height": 800})
        yield context.new_page()
        browser.close()


# --- the editors' review: curated items and a logged-in editor ---------------------------------

EDITOR, PASSWORD = "editor@example.org", "Correct-Horse-42-battery"
TRIAL = "The immunotherapy study will enrol 40 patients with advanced melanoma at Oslo University Hospital."


@dataclass
class Reviewed:
    web: Web
    ids: dict[str, int]  # by guid

    def page(self, path: str = "/review/items") -> str:
        response = self.web.client.get(path)
        assert response.status_code == 200, response.status_code
        return response.get_data(as_text=True)

    def decide(self, guid: str, action: str, value: str | None = None, back: str = "/review/items") -> str:
        """Post a decision as the page's form does; returns where the answer redirects."""
        form = {"csrf_token": _token(self.page()), "action": action, "back": back}
        if value is not None:
            form["value"] = value
        response = self.web.client.post(f"/review/items/{self.ids[guid]}", data=form)
        assert response.status_code == 303, response.status_code
        return response.headers["Location"]

    def item(self, guid: str) -> dict[str, object]:
        return jobs.item_view(self.web.svc, self.ids[guid])


def _token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "no CSRF field"
    return match.group(1)


def parsed_item(guid: str, title: str, summary: str, days_ago: int) -> ParsedItem:
    published = datetime.now(UTC) - timedelta(days=days_ago)
    url = f"https://news.example.org/{guid}"
    return ParsedItem(guid, url, url, title, "", summary, published, language="en")


def login(web: Web, next_path: str | None = None) -> str:
    path = "/auth/login" + (f"?next={next_path}" if next_path else "")
    form = {"csrf_token": web.csrf_token(path), "email": EDITOR, "password": PASSWORD}
    response = web.client.post(path, data=form)
    assert response.status_code == 302, response.status_code
    return response.headers["Location"]


@pytest.fixture
def reviewed(web: Web) -> Reviewed:
    """Four curated items of the last days (two tell one story), and an editor logged in."""
    svc = web.svc
    parsed = [
        parsed_item("trial", "Nykode starts immunotherapy trial in melanoma", TRIAL, 1),
        parsed_item("again", "Member news: Nykode starts immunotherapy trial in melanoma", TRIAL, 1),
        parsed_item("grant", "Genomics funding for Oslo researchers", "Funding for genomics research.", 2),
        parsed_item("party", "Summer party at the Innovation Park", "Food, music and a quiz for tenants.", 3),
    ]
    now = datetime.now(UTC)
    with svc.store.transaction() as conn:
        svc.store.items.ingest(conn, "alpha", parsed, now)
    jobs.curate_new(svc)
    ids = {item.guid: item.id for item in svc.store.items.list()}
    svc.store.users.add(EDITOR, "editor", PASSWORD, now)
    login(web)
    return Reviewed(web, ids)
