"""The rendered email, parsed: what a mail client and a reader get."""

from __future__ import annotations

import re
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from pipeline.errors import RenderError
from pipeline.render import render_digest
from pipeline.render.email import PERSONAL_RESERVE_BYTES, render_html_source
from pipeline.types import DigestSection

from .samples import big_digest, english_digest, entry, norwegian_digest, settings

ARCHIVE = "https://news.example.org/archive/2025-03-13-7.html"


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "lxml")


@pytest.fixture(scope="module")
def rendered():
    return render_digest(english_digest(), settings(), archive_url=ARCHIVE)


def test_document_is_a_600px_presentation_table_layout_with_lang(rendered):
    doc = soup(rendered.html)
    assert doc.html["lang"] == "en"
    container = doc.find("table", class_="container")
    assert container["role"] == "presentation" and container["width"] == "600"
    assert all(t.get("role") == "presentation" for t in doc.find_all("table"))
    assert doc.find(class_="preheader")["style"].startswith("display:none")


def test_no_script_and_no_external_stylesheet(rendered):
    doc = soup(rendered.html)
    assert doc.find("script") is None
    assert doc.find("link") is None
    assert not any(a.startswith("on") for tag in doc.find_all(True) for a in tag.attrs)


def test_every_style_is_inlined_except_media_queries(rendered):
    doc = soup(rendered.html)
    styles = doc.find_all("style")
    assert len(styles) == 1
    css = styles[0].string
    # Outside the @media blocks nothing is left: strip each balanced block and see what remains.
    assert "prefers-color-scheme: dark" in css and "max-width: 480px" in css
    remainder = css
    while "@media" in remainder:
        start = remainder.index("@media")
        depth, i = 0, remainder.index("{", start)
        while True:
            depth += {"{": 1, "}": -1}.get(remainder[i], 0)
            i += 1
            if depth == 0:
                break
        remainder = remainder[:start] + remainder[i:]
    assert remainder.strip() == ""
    # ...and the class rules reached the elements as style attributes.
    assert "font-size:18px" in doc.find("h3", class_="entry-title")["style"]
    assert "background-color:#0b4f6c" in doc.find("td", class_="header")["style"]


def test_media_query_rules_are_important_so_they_beat_inline_styles(rendered):
    css = soup(rendered.html).find("style").string
    assert "width: 100% !important" in css


def test_every_link_is_absolute_http_or_a_personal_token(rendered):
    for a in soup(rendered.html).find_all("a"):
        href = a["href"]
        tokens = ("[[unsubscribe_url]]", "[[preferences_url]]")
        assert href.startswith(("https://", "http://")) or href in tokens


def test_every_image_has_alt_width_and_height(rendered):
    images = soup(rendered.html).find_all("img")
    assert len(images) == 2
    for img in images:
        assert img["alt"].strip()
        assert img["width"].isdigit() and img["height"].isdigit()
    # An image without alt text from the feed gets the story's title.
    assert images[1]["alt"] == "New biomarker panel for lung cancer"


def test_headings_are_in_order(rendered):
    levels = [int(h.name[1]) for h in soup(rendered.html).find_all(re.compile(r"^h[1-6]$"))]
    assert levels[0] == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:], strict=False))


def test_sections_items_submissions_events_and_footer_are_all_there(rendered):
    doc = soup(rendered.html)
    assert [h.get_text() for h in doc.find_all("h2")] == [
        "Immuno-oncology", "Precision medicine", "From our members", "Events"]
    first = doc.find("h3").find("a")
    assert first.get_text() == "Cancer vaccine enters phase II trial"
    assert first["href"] == "https://members.example.org/news/1"
    text = doc.get_text(" ")
    assert "Nykode Therapeutics · 12 March 2025" in text
    also = doc.find("p", class_="also")
    assert also.get_text() == "Also reported by: Oslo University Hospital, Inven2"
    assert doc.find("a", href="https://ous.example.no/news/77").get_text() == "Oslo University Hospital"
    footer = doc.find("td", class_="footer")
    hrefs = {a.get_text(): a["href"] for a in footer.find_all("a")}
    assert hrefs == {"Manage preferences": "[[preferences_url]]", "Unsubscribe": "[[unsubscribe_url]]",
                     "View in browser": ARCHIVE}
    assert "Ullernchausseen 64" in footer.get_text()
    assert "A busy week for the cluster." in text


def test_branding_comes_from_settings():
    s = settings()
    s = replace(s, branding=replace(s.branding, name="Test Cluster", logo_url="https://cdn.example.org/logo.png",
                                    primary_colour="#1a237e", postal_address="Testveien 1, 0001 Oslo"))
    doc = soup(render_digest(english_digest(), s).html)
    logo = doc.find("img", class_="logo")
    assert logo["src"] == "https://cdn.example.org/logo.png" and logo["alt"] == "Test Cluster"
    assert "#1a237e" in doc.find("td", class_="header")["style"]
    assert "Testveien 1, 0001 Oslo" in doc.get_text()


def test_a_pale_brand_colour_is_darkened_for_contrast_with_a_warning():
    s = settings()
    s = replace(s, branding=replace(s.branding, primary_colour="#9ad0ec"))
    r = render_digest(english_digest(), s)
    header_style = soup(r.html).find("td", class_="header")["style"]
    assert "#9ad0ec" not in header_style
    assert any("darkened" in w for w in r.warnings)


def test_untrusted_title_and_blurb_are_escaped():
    evil = entry(99, "immuno-oncology", '<script>alert("x")</script> Big news',
                 blurb='<img src=x onerror=alert(1)> & more', source_name="<b>Bad</b> source")
    d = replace(english_digest(), sections=(DigestSection("immuno-oncology", "Immuno-oncology", (evil,)),))
    r = render_digest(d, settings())
    doc = soup(r.html)
    assert doc.find("script") is None
    assert len(doc.find_all("img")) == 0
    assert doc.find("h3").get_text() == '<script>alert("x")</script> Big news'
    assert "&lt;script&gt;" in r.html
    assert "<img src=x onerror=alert(1)> & more" in doc.get_text()
    # The text part is plain text: the same characters, nothing to escape there.
    assert '<script>alert("x")</script> Big news' in r.text


def test_a_link_that_is_not_http_is_shown_unlinked_with_a_warning():
    bad = entry(98, "immuno-oncology", "Click me", url="javascript:alert(1)", image_url="file:///etc/passwd")
    d = replace(english_digest(), sections=(DigestSection("immuno-oncology", "Immuno-oncology", (bad,)),))
    r = render_digest(d, settings())
    doc = soup(r.html)
    assert "javascript:" not in r.html and "file:" not in r.html
    assert doc.find("h3").find("a") is None and doc.find("h3").get_text() == "Click me"
    assert any("item 98" in w for w in r.warnings)


def test_text_part_holds_every_items_link_and_reads_on_its_own(rendered):
    d = english_digest()
    for e in d.all_entries():
        assert e.url in rendered.text
        assert e.title in rendered.text
    assert "https://ous.example.no/news/77" in rendered.text
    assert "Unsubscribe: [[unsubscribe_url]]" in rendered.text
    assert f"View in browser: {ARCHIVE}" in rendered.text
    assert "<" not in rendered.text.replace("<script", "")  # no markup leaks into the text part
    assert max(len(line) for line in rendered.text.splitlines() if "://" not in line) <= 78


def test_norwegian_digest_has_norwegian_dates_and_strings():
    r = render_digest(norwegian_digest(), settings(), archive_url=ARCHIVE)
    doc = soup(r.html)
    assert doc.html["lang"] == "nb"
    assert "12. mars 2025" in doc.find("p", class_="meta").get_text()
    assert "13. mars 2025" in doc.find("p", class_="issue-date").get_text()
    assert "Meld deg av" in r.html and "Vis i nettleseren" in r.html and "Endre innstillinger" in r.html
    assert "12. mars 2025" in r.text and "Meld deg av: [[unsubscribe_url]]" in r.text
    assert "Unsubscribe" not in r.html


def test_dates_are_days_in_oslo_not_utc():
    late = entry(50, "immuno-oncology", "Late news",
                 published=english_digest().period_end.replace(day=11, hour=23, minute=30))
    d = replace(english_digest(), sections=(DigestSection("immuno-oncology", "Immuno-oncology", (late,)),))
    # 23:30 UTC on 11 March is 00:30 on 12 March in Oslo.
    assert "12 March 2025" in soup(render_digest(d, settings()).html).find("p", class_="meta").get_text()


def test_a_segment_contains_only_its_themes():
    r = render_digest(english_digest(), settings(), themes=frozenset({"precision-medicine", "events"}))
    doc = soup(r.html)
    assert [h.get_text() for h in doc.find_all("h2")] == ["Precision medicine", "Events"]
    assert "members.example.org/news/1" not in r.html and "members.example.org/news/1\n" not in r.text
    assert "Cancer vaccine" not in r.text and "Start-up closes seed round" not in r.text
    assert "New biomarker panel" in r.text and "Innovation Day" in r.text


def test_utm_parameters_only_when_configured_and_never_on_personal_links():
    plain = render_digest(english_digest(), settings())
    assert "utm_" not in plain.html and "utm_" not in plain.text
    tagged = render_digest(english_digest(), settings(utm=True))
    href = soup(tagged.html).find("h3").find("a")["href"]
    assert parse_qs(urlsplit(href).query) == {
        "utm_source": ["newsletter"], "utm_medium": ["email"], "utm_campaign": ["digest-7"]}
    assert href in tagged.text
    assert soup(tagged.html).find("a", string="Unsubscribe")["href"] == "[[unsubscribe_url]]"


def test_size_budget_is_held_by_dropping_the_lowest_ranked_items():
    d = big_digest(40, blurb_len=600)
    full = render_digest(d, settings())
    assert full.dropped_item_ids == ()
    budget = len(full.html.encode()) - 15_000
    r = render_digest(d, settings(max_html_bytes=budget))
    assert len(r.html.encode()) <= budget - PERSONAL_RESERVE_BYTES
    assert r.dropped_item_ids
    scores = {e.item_id: e.score for e in d.all_entries()}
    kept = [i for i in scores if i not in r.dropped_item_ids]
    assert max(scores[i] for i in r.dropped_item_ids) <= min(scores[i] for i in kept)
    assert "dropped" in r.warnings[0] and f"#{r.dropped_item_ids[0]}" in r.warnings[0]
    for item_id in r.dropped_item_ids:
        assert f"/news/{item_id}\"" not in r.html and f"/news/{item_id}\n" not in r.text
    assert len(r.dropped_item_ids) < 20  # dropped what the excess needed, not everything


def test_over_budget_fails_when_configured():
    with pytest.raises(RenderError, match="over the budget"):
        render_digest(big_digest(40), settings(max_html_bytes=20_000, over_budget="fail"))


def test_a_title_cannot_smuggle_a_personal_token():
    sneaky = entry(77, "immuno-oncology", "Write to [[email]] now", blurb="see [[unsubscribe_url]]")
    d = replace(english_digest(), sections=(DigestSection("immuno-oncology", "Immuno-oncology", (sneaky,)),))
    r = render_digest(d, settings())
    assert r.html.count("[[email]]") == 1  # the footer's, not the title's
    assert r.text.count("[[email]]") == 1
    assert r.html.count("[[unsubscribe_url]]") == 1
    assert "Write to [[email]] now" in soup(r.html).get_text()  # still reads the same


def test_source_html_before_inlining_keeps_classes_for_the_media_queries():
    src = render_html_source(english_digest(), settings())
    assert '<style>' in src and 'class="container"' in src
    r = render_digest(english_digest(), settings())
    assert 'class="container"' in r.html
