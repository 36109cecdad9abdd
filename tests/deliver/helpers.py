"""Small builders shared by the deliver tests."""

from __future__ import annotations

from dataclasses import replace

from pipeline.deliver.message import make_personaliser
from pipeline.types import OutgoingMessage, Rendered, Subscriber

SECRET = "test-secret-key-0123456789"
PUBLIC_URL = "https://news.example.org"
SENDER = "Cluster News <news@example.org>"

RENDERED = Rendered(
    subject="Oslo Cancer Cluster news, week 48",
    html=(
        '<!doctype html><html lang="en"><body><p>Hei [[name]]!</p>'
        "<p>Kreftforskning i Oslo: immunterapi og presisjonsmedisin.</p>"
        '<p><a href="[[preferences_url]]">Preferences</a> | <a href="[[unsubscribe_url]]">Unsubscribe</a></p>'
        "<p>Sent to [[email]]</p></body></html>"
    ),
    text=(
        "Hei [[name]]!\n\nKreftforskning i Oslo.\n\n"
        "Preferences: [[preferences_url]]\nUnsubscribe: [[unsubscribe_url]]\n"
    ),
)


def personaliser(rendered: Rendered = RENDERED):  # type: ignore[no-untyped-def]
    return make_personaliser(rendered, secret=SECRET, public_url=PUBLIC_URL, sender=SENDER)


def subscriber(i: int, *, status: str = "active", name: str | None = None) -> Subscriber:
    return Subscriber(
        id=i, email=f"reader{i}@example.no", name=name if name is not None else f"Reader {i}", status=status
    )  # type: ignore[arg-type]


def message(i: int, *, name: str | None = None, rendered: Rendered = RENDERED) -> OutgoingMessage:
    return replace(personaliser(rendered)(subscriber(i, name=name)), message_id=f"d1.s{i}")
