"""Personal values written into a rendered digest after inlining."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from pipeline.errors import RenderError
from pipeline.render import PLACEHOLDERS, Personaliser, personalise, preview, render_digest
from pipeline.types import Rendered

from .samples import english_digest, settings

VALUES = {
    "unsubscribe_url": "https://news.example.org/unsubscribe/tok.en?x=1&y=2",
    "preferences_url": "https://news.example.org/preferences/tok.en",
    "name": 'Kari "K" <Nordmann> & co',
    "email": "kari@example.no",
}


@pytest.fixture(scope="module")
def rendered():
    return render_digest(english_digest(), settings(), archive_url="https://news.example.org/archive/7.html")


def test_every_token_is_replaced_in_both_parts(rendered):
    assert all(token in rendered.html for token in PLACEHOLDERS)
    html, text = personalise(rendered, VALUES)
    for token in PLACEHOLDERS:
        assert token not in html and token not in text
    doc = BeautifulSoup(html, "lxml")
    assert doc.find("a", string="Unsubscribe")["href"] == VALUES["unsubscribe_url"]
    assert doc.find("a", string="Manage preferences")["href"] == VALUES["preferences_url"]
    assert doc.find("p", class_="greeting").get_text() == f"Hello {VALUES['name']},"
    assert "sent to kari@example.no" in doc.get_text()
    assert f"Unsubscribe: {VALUES['unsubscribe_url']}" in text
    assert f"Hello {VALUES['name']}," in text


def test_values_are_html_escaped_in_html_and_verbatim_in_text(rendered):
    html, text = personalise(rendered, VALUES)
    assert "&lt;Nordmann&gt; &amp; co" in html and "<Nordmann>" not in html
    assert "tok.en?x=1&amp;y=2" in html
    assert 'Kari "K" <Nordmann> & co' in text


def test_an_empty_name_greets_by_address(rendered):
    html, text = personalise(rendered, {**VALUES, "name": ""})
    assert "Hello kari@example.no," in text
    assert "Hello ," not in html


def test_a_missing_value_is_an_error_naming_it(rendered):
    values = dict(VALUES)
    del values["unsubscribe_url"]
    with pytest.raises(RenderError, match="unsubscribe_url"):
        personalise(rendered, values)


def test_personaliser_reused_gives_each_recipient_their_own_values(rendered):
    p = Personaliser(rendered)
    a = p.apply({**VALUES, "email": "a@example.org", "name": "A"})
    b = p.apply({**VALUES, "email": "b@example.org", "name": "B"})
    assert "a@example.org" in a[0] and "b@example.org" not in a[0]
    assert "b@example.org" in b[1] and "a@example.org" not in b[1]
    assert a[0].replace("a@example.org", "X").replace("Hello A,", "") == \
        b[0].replace("b@example.org", "X").replace("Hello B,", "")


def test_text_without_tokens_comes_back_unchanged():
    r = Rendered(subject="s", html="<p>no tokens</p>", text="plain")
    assert personalise(r, VALUES) == ("<p>no tokens</p>", "plain")


def test_preview_uses_harmless_public_values(rendered):
    html, text = preview(rendered, settings())
    assert "[[" not in html and "[[" not in text
    assert "https://news.example.org/unsubscribe" in html
