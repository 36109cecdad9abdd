"""The web app on a real SQLite store in tmp_path, with CSRF on, and an outbox folder to read mail from."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pipeline.config import parse_config
from pipeline.jobs import Services
from pipeline.store import Store
from pipeline.web import create_app

SECRET = "x" * 32

CONFIG = """\
settings:
  public_url: https://news.example.org
  delivery: {{provider: outbox, outbox_dir: "{outbox}", from: "Cluster News <news@example.org>"}}
sources: []
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
