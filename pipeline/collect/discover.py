"""Find the feeds a web page links to with <link rel="alternate" type="..."> (feed autodiscovery)."""

from __future__ import annotations

import re

from bs4 import Tag

from pipeline.collect.normalise import absolute_url, html_soup

FEED_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/feed+json"})
# WordPress links its comments feed next to the posts feed; it is never the news.
_COMMENTS = re.compile(r"/comments/feed|[?&]feed=comments-", re.I)


def discover_feeds(html: bytes, *, url: str) -> list[str]:
    """Absolute URLs of the RSS, Atom and JSON feeds the page declares, in document order, comment
    feeds last, without duplicates."""
    soup = html_soup(html)
    base_el = soup.find("base", href=True)
    base = (absolute_url(str(base_el["href"]), url) or url) if isinstance(base_el, Tag) else url
    found: list[str] = []
    for link in soup.find_all("link", href=True):
        rel: str | list[str] = link.get("rel") or []
        rels = {r.lower() for r in (rel.split() if isinstance(rel, str) else rel)}
        kind = str(link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in rels or kind not in FEED_TYPES:
            continue
        href = absolute_url(str(link["href"]), base)
        if href and href not in found:
            found.append(href)
    return sorted(found, key=lambda u: bool(_COMMENTS.search(u)))  # stable: document order otherwise
