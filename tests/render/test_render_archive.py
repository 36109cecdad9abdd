"""The static web archive: a page per digest, an index and an Atom feed."""

from __future__ import annotations

from dataclasses import replace

from bs4 import BeautifulSoup
from lxml import etree

from pipeline.render import archive_url, render_archive, render_digest

from .samples import english_digest, norwegian_digest, settings

ATOM = "{http://www.w3.org/2005/Atom}"


def _write(tmp_path):
    s = settings()
    digests = (english_digest(), norwegian_digest())
    pairs = [(d, render_digest(d, s, archive_url=archive_url(d, s))) for d in digests]
    return pairs, render_archive(pairs, s, tmp_path / "archive")


def test_writes_a_page_per_digest_an_index_and_a_feed(tmp_path):
    _, paths = _write(tmp_path)
    names = sorted(p.name for p in paths)
    assert names == ["2025-03-13-7.html", "2025-03-13-8.html", "feed.xml", "index.html"]
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)


def test_digest_page_shows_its_items_and_no_personal_tokens(tmp_path):
    _write(tmp_path)
    html = (tmp_path / "archive" / "2025-03-13-7.html").read_text(encoding="utf-8")
    doc = BeautifulSoup(html, "lxml")
    assert doc.title.get_text() == "Oslo Cancer Cluster news digest, 13 March 2025"
    assert doc.find("a", href="https://members.example.org/news/1").get_text() == \
        "Cancer vaccine enters phase II trial"
    assert "[[" not in html and doc.find("script") is None
    assert doc.find("a", href="index.html") is not None
    assert doc.html["lang"] == "en"


def test_norwegian_page_is_norwegian(tmp_path):
    _write(tmp_path)
    html = (tmp_path / "archive" / "2025-03-13-8.html").read_text(encoding="utf-8")
    doc = BeautifulSoup(html, "lxml")
    assert doc.html["lang"] == "nb"
    assert "12. mars 2025" in doc.get_text() and "Alle nyhetsbrev" in doc.get_text()


def test_index_lists_digests_newest_first_with_links(tmp_path):
    _write(tmp_path)
    doc = BeautifulSoup((tmp_path / "archive" / "index.html").read_text(encoding="utf-8"), "lxml")
    links = [a["href"] for a in doc.select(".listing-item a")]
    assert links == ["2025-03-13-8.html", "2025-03-13-7.html"]  # same day: the higher id is newer
    assert "5 stories" in doc.get_text() and "1 sak" in doc.get_text()
    assert doc.find("link", type="application/atom+xml")["href"] == "feed.xml"


def test_feed_is_valid_atom_with_an_entry_per_digest(tmp_path):
    _write(tmp_path)
    root = etree.parse(str(tmp_path / "archive" / "feed.xml")).getroot()
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None
    entries = root.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        "https://news.example.org/archive/2025-03-13-8.html",
        "https://news.example.org/archive/2025-03-13-7.html",
    ]
    for e in entries:
        assert e.findtext(f"{ATOM}title") and e.findtext(f"{ATOM}updated")
        assert e.find(f"{ATOM}link").get("href") == e.findtext(f"{ATOM}id")
    self_link = [ln for ln in root.findall(f"{ATOM}link") if ln.get("rel") == "self"]
    assert self_link[0].get("href") == "https://news.example.org/archive/feed.xml"


def test_dropped_items_are_not_in_the_archive_copy(tmp_path):
    s = settings()
    d = english_digest()
    r = render_digest(d, s)
    r = replace(r, dropped_item_ids=(2,))
    render_archive([(d, r)], s, tmp_path)
    html = (tmp_path / "2025-03-13-7.html").read_text(encoding="utf-8")
    assert "news/2\"" not in html and "news/1\"" in html


def test_an_empty_archive_still_writes_an_index_and_a_feed(tmp_path):
    paths = render_archive([], settings(), tmp_path)
    assert sorted(p.name for p in paths) == ["feed.xml", "index.html"]
    root = etree.parse(str(tmp_path / "feed.xml")).getroot()
    assert root.findall(f"{ATOM}entry") == []
