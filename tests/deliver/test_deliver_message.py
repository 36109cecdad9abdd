from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime

from pipeline.deliver.message import build_mime, materialise, personal_headers
from pipeline.deliver.tokens import read_token
from tests.deliver.helpers import PUBLIC_URL, SECRET, SENDER, message


def _parse(data: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(data, policy=email.policy.default)  # type: ignore[return-value]


def test_mime_is_multipart_alternative_text_first_with_personal_values() -> None:
    msg = message(5, name="Kari Nordmann")
    when = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    parsed = _parse(build_mime(msg, SENDER, reply_to="desk@example.org", now=when).as_bytes())

    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in parts)
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    text, html = parts[0].get_content(), parts[1].get_content()
    assert "Hei Kari Nordmann!" in text and "Hei Kari Nordmann!" in html
    assert "presisjonsmedisin" in html and "[[" not in html + text
    assert parsed["MIME-Version"] == "1.0"
    assert parsed["Date"] == "Thu, 26 Nov 2026 09:00:00 +0000"
    assert parsed["Message-ID"] == "<d1.s5@example.org>"
    assert parsed["X-Pipeline-Message-Id"] == "d1.s5"
    assert parsed["Reply-To"] == "desk@example.org"
    assert parsed["To"] == "reader5@example.no"


def test_list_unsubscribe_carries_the_personal_signed_link_and_one_click() -> None:
    parsed = _parse(build_mime(message(5), SENDER).as_bytes())
    raw = parsed["List-Unsubscribe"]
    assert "=?" not in raw  # a plain header, not RFC 2047 encoded words
    https, mailto = [v.strip().strip("<>") for v in raw.split(",")]
    assert https.startswith(f"{PUBLIC_URL}/unsubscribe/")
    data = read_token(SECRET, "unsubscribe", https.rsplit("/", 1)[1])
    assert (data.subscriber_id, data.email) == (5, "reader5@example.no")
    assert mailto == "mailto:news@example.org?subject=unsubscribe"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The same link is the footer's unsubscribe link.
    assert https in parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_names_are_escaped_in_html_but_not_in_text() -> None:
    full = materialise(message(9, name='Ola "O&B" <Nordmann>'))
    assert "Hei Ola &quot;O&amp;B&quot; &lt;Nordmann&gt;!" in full.html
    assert 'Hei Ola "O&B" <Nordmann>!' in full.text
    assert full.variables == ()


def test_non_ascii_subject_and_body_survive_the_round_trip() -> None:
    msg = materialise(message(3, name="Åse Bjørnstad"))
    parsed = _parse(build_mime(msg, "Klynge Nyheter <news@example.org>").as_bytes())
    assert "Hei Åse Bjørnstad!" in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert parsed["From"] == "Klynge Nyheter <news@example.org>"


def test_personal_headers_from_a_token() -> None:
    headers = dict(personal_headers(PUBLIC_URL, "TOKEN123", SENDER))
    assert headers["List-Unsubscribe"] == (
        f"<{PUBLIC_URL}/unsubscribe/TOKEN123>, <mailto:news@example.org?subject=unsubscribe>"
    )
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
