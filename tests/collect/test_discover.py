"""Feed autodiscovery from a home page's <link rel="alternate">."""

from __future__ import annotations

from pathlib import Path

from pipeline.collect.discover import discover_feeds

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"


def test_feeds_in_document_order_comments_last_absolute_and_unique() -> None:
    html = (PAGES / "home.html").read_bytes()

    assert discover_feeds(html, url="https://biotech.example.com/") == [
        "https://biotech.example.com/feed/",
        "https://biotech.example.com/feed/atom/",
        "https://biotech.example.com/feed.json",
        "https://biotech.example.com/comments/feed/",
    ]


def test_listing_page_category_feed() -> None:
    html = (PAGES / "listing_en.html").read_bytes()

    assert discover_feeds(html, url="https://oslocancercluster.no/category/news/") == [
        "https://oslocancercluster.no/category/news/feed/"
    ]


def test_base_href_and_pages_without_feeds() -> None:
    html = b"""<html><head><base href="https://cdn.example.org/blog/">
    <link rel="alternate" type="application/rss+xml" href="rss.xml"></head></html>"""

    assert discover_feeds(html, url="https://example.org/") == ["https://cdn.example.org/blog/rss.xml"]
    assert discover_feeds(b"<html><head><title>x</title></head></html>", url="https://example.org/") == []
    assert discover_feeds(b"", url="https://example.org/") == []
