"""Collect one source: fetch, discover, parse, enrich. Network only through the fetcher passed in.

Expected failures (the web misbehaving) come back as a failed `SourceResult`, never as an exception, so
one broken source cannot stop the others.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from pipeline.collect.discover import discover_feeds
from pipeline.collect.feeds import parse_feed
from pipeline.collect.pages import parse_article, parse_listing
from pipeline.errors import FetchError, ParseError, PipelineError
from pipeline.types import (
    ArticleMeta,
    CacheInfo,
    Fetched,
    ParsedFeed,
    ParsedItem,
    Source,
    SourceResult,
    SourceState,
)

FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
#: Article pages read per source and run: enrichment must not turn one listing into hundreds of fetches.
MAX_ARTICLES = 10


class FetcherLike(Protocol):
    def fetch(
        self,
        url: str,
        *,
        cache: CacheInfo | None = None,
        check_robots: bool = False,
        accept: str | None = None,
    ) -> Fetched: ...


def collect_source(
    source: Source,
    state: SourceState,
    fetcher: FetcherLike,
    *,
    now: datetime,
    known_urls: Callable[[Sequence[str]], set[str]] = lambda urls: set(),
    max_articles: int = MAX_ARTICLES,
) -> SourceResult:
    try:
        if source.kind == "page":
            return _collect_page(source, state, fetcher, now, known_urls, max_articles)
        if source.kind == "home" and not state.feed_url:
            return _collect_home(source, fetcher, now)
        url = state.feed_url or source.url
        return _collect_feed(source, url, state.cache, fetcher, now, feed_url=state.feed_url)
    except (FetchError, ParseError) as exc:
        return SourceResult(source_id=source.id, ok=False, error_kind=exc.kind, error=str(exc))
    except PipelineError as exc:  # any other expected failure is still one source's problem
        return SourceResult(source_id=source.id, ok=False, error_kind=exc.kind, error=str(exc))


def _collect_feed(
    source: Source, url: str, cache: CacheInfo, fetcher: FetcherLike, now: datetime, *, feed_url: str | None
) -> SourceResult:
    fetched = fetcher.fetch(url, cache=cache, accept=FEED_ACCEPT)
    if fetched.not_modified:
        return SourceResult(
            source_id=source.id, ok=True, not_modified=True, cache=fetched.cache, feed_url=feed_url
        )
    parsed = _parse_feed_bytes(source, fetched, now)
    return _result(source, parsed, fetched.cache, feed_url)


def _collect_home(source: Source, fetcher: FetcherLike, now: datetime) -> SourceResult:
    """A home page: find its feed through <link rel="alternate">, remember it, and read it."""
    page = fetcher.fetch(source.url, check_robots=True, accept=HTML_ACCEPT)
    if _looks_like_feed(page):
        parsed = _parse_feed_bytes(source, page, now)
        return _result(source, parsed, page.cache, feed_url=page.url)
    feeds = discover_feeds(page.content, url=page.url)
    if not feeds:
        raise ParseError(
            source.url,
            'no feed is linked from this page (<link rel="alternate" '
            'type="application/rss+xml">); make it a page source with selectors',
        )
    return _collect_feed(source, feeds[0], CacheInfo(), fetcher, now, feed_url=feeds[0])


def _collect_page(
    source: Source,
    state: SourceState,
    fetcher: FetcherLike,
    now: datetime,
    known_urls: Callable[[Sequence[str]], set[str]],
    max_articles: int,
) -> SourceResult:
    assert source.selectors is not None  # config guarantees it for page sources
    fetched = fetcher.fetch(source.url, cache=state.cache, check_robots=True, accept=HTML_ACCEPT)
    if fetched.not_modified:
        return SourceResult(source_id=source.id, ok=True, not_modified=True, cache=fetched.cache)
    parsed = parse_listing(
        fetched.content, url=fetched.url, selectors=source.selectors, now=now, source_language=source.language
    )
    if source.fetch_articles:
        parsed = _enrich(parsed, fetcher, known_urls, max_articles)
    return _result(source, parsed, fetched.cache, None)


def _enrich(
    parsed: ParsedFeed,
    fetcher: FetcherLike,
    known_urls: Callable[[Sequence[str]], set[str]],
    max_articles: int,
) -> ParsedFeed:
    """Read each NEW article once for its OpenGraph / JSON-LD metadata; stored ones are never refetched."""
    wanting = [i for i in parsed.items if i.needs_article]
    known = known_urls([i.canonical_url for i in wanting]) if wanting else set()
    budget = max_articles
    warnings = list(parsed.warnings)
    out: list[ParsedItem] = []
    for item in parsed.items:
        if item.needs_article and item.canonical_url in known:
            # Stored already, enriched from its article; the bare listing entry would only overwrite that.
            continue
        if item.needs_article and budget > 0:
            budget -= 1
            try:
                page = fetcher.fetch(item.url, check_robots=True, accept=HTML_ACCEPT)
                item = merge_article(item, parse_article(page.content, url=page.url))
            except (FetchError, ParseError) as exc:
                warnings.append(f"article {item.url}: {exc.kind}: {exc}")
        out.append(item)
    return replace(parsed, items=tuple(out), warnings=tuple(warnings))


def merge_article(item: ParsedItem, meta: ArticleMeta) -> ParsedItem:
    """Fill what the listing lacked from the article's metadata; the listing's own values win."""
    summary_text = item.summary_text or (meta.summary or "")
    summary_html = item.summary_html or (f"<p>{html.escape(meta.summary)}</p>" if meta.summary else "")
    published, missing = item.published, item.date_missing
    if item.date_missing and meta.published is not None:
        published, missing = meta.published, False
    return replace(
        item,
        title=item.title or (meta.title or ""),
        summary_text=summary_text,
        summary_html=summary_html,
        image_url=item.image_url or meta.image_url,
        author=item.author or meta.author,
        language=item.language or meta.language,
        published=published,
        date_missing=missing,
        needs_article=False,
    )


def _parse_feed_bytes(source: Source, fetched: Fetched, now: datetime) -> ParsedFeed:
    return parse_feed(
        fetched.content,
        url=fetched.url,
        now=now,
        source_language=source.language,
        content_type=fetched.content_type,
        encoding=fetched.encoding,
    )


def _looks_like_feed(fetched: Fetched) -> bool:
    ctype = (fetched.content_type or "").lower()
    if any(t in ctype for t in ("rss", "atom", "xml")) and "html" not in ctype:
        return True
    head = fetched.content[:512].lstrip().lower()
    return head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head or b"<rdf" in head)


def _result(source: Source, parsed: ParsedFeed, cache: CacheInfo, feed_url: str | None) -> SourceResult:
    return SourceResult(
        source_id=source.id,
        ok=True,
        items=parsed.items,
        warnings=parsed.warnings,
        cache=cache,
        feed_url=feed_url,
    )
