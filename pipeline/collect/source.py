"""Collect one source: fetch, discover, parse, enrich. Network only through the fetcher passed in.

Expected failures (the web misbehaving) come back as a failed `SourceResult`, never as an exception, so
one broken source cannot stop the others.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from pipeline.collect.parsing import IN_PROCESS, Parsers
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
    parsers: Parsers = IN_PROCESS,
) -> SourceResult:
    run = _Run(source, fetcher, parsers, now)
    try:
        if source.kind == "page":
            return run.page(state, known_urls, max_articles)
        if source.kind == "home" and not state.feed_url:
            return run.home()
        return run.feed(state.feed_url or source.url, state.cache, feed_url=state.feed_url)
    except (FetchError, ParseError) as exc:
        return SourceResult(
            source_id=source.id,
            ok=False,
            error_kind=exc.kind,
            error=str(exc),
            retry_after=getattr(exc, "retry_after", None),
        )
    except PipelineError as exc:  # any other expected failure is still one source's problem
        return SourceResult(source_id=source.id, ok=False, error_kind=exc.kind, error=str(exc))


@dataclass(frozen=True)
class _Run:
    """One source's collection: what it is, and the fetcher and parsers it goes through."""

    source: Source
    fetcher: FetcherLike
    parsers: Parsers
    now: datetime

    def feed(self, url: str, cache: CacheInfo, *, feed_url: str | None) -> SourceResult:
        fetched = self.fetcher.fetch(url, cache=cache, accept=FEED_ACCEPT)
        if fetched.not_modified:
            return SourceResult(
                source_id=self.source.id, ok=True, not_modified=True, cache=fetched.cache, feed_url=feed_url
            )
        return self._result(self._parse_feed(fetched), fetched.cache, feed_url)

    def home(self) -> SourceResult:
        """A home page: find its feed through <link rel="alternate">, remember it, and read it."""
        page = self.fetcher.fetch(self.source.url, check_robots=True, accept=HTML_ACCEPT)
        if _looks_like_feed(page):
            return self._result(self._parse_feed(page), page.cache, feed_url=page.url)
        feeds = self.parsers.discover(page.content, url=page.url)
        if not feeds:
            raise ParseError(
                self.source.url,
                'no feed is linked from this page (<link rel="alternate" '
                'type="application/rss+xml">); make it a page source with selectors',
            )
        return self.feed(feeds[0], CacheInfo(), feed_url=feeds[0])

    def page(
        self, state: SourceState, known_urls: Callable[[Sequence[str]], set[str]], max_articles: int
    ) -> SourceResult:
        assert self.source.selectors is not None  # config guarantees it for page sources
        fetched = self.fetcher.fetch(
            self.source.url, cache=state.cache, check_robots=True, accept=HTML_ACCEPT
        )
        if fetched.not_modified:
            return SourceResult(source_id=self.source.id, ok=True, not_modified=True, cache=fetched.cache)
        parsed = self.parsers.listing(
            fetched.content,
            url=fetched.url,
            selectors=self.source.selectors,
            now=self.now,
            source_language=self.source.language,
        )
        if self.source.fetch_articles:
            parsed = self._enrich(parsed, known_urls, max_articles)
        return self._result(parsed, fetched.cache, None)

    def _enrich(
        self, parsed: ParsedFeed, known_urls: Callable[[Sequence[str]], set[str]], max_articles: int
    ) -> ParsedFeed:
        """Read each NEW article once for its OpenGraph / JSON-LD metadata; stored ones are not refetched."""
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
                    page = self.fetcher.fetch(item.url, check_robots=True, accept=HTML_ACCEPT)
                    item = merge_article(item, self.parsers.article(page.content, url=page.url))
                except (FetchError, ParseError) as exc:
                    warnings.append(f"article {item.url}: {exc.kind}: {exc}")
            out.append(item)
        return replace(parsed, items=tuple(out), warnings=tuple(warnings))

    def _parse_feed(self, fetched: Fetched) -> ParsedFeed:
        return self.parsers.feed(
            fetched.content,
            url=fetched.url,
            now=self.now,
            source_language=self.source.language,
            content_type=fetched.content_type,
            encoding=fetched.encoding,
        )

    def _result(self, parsed: ParsedFeed, cache: CacheInfo, feed_url: str | None) -> SourceResult:
        return SourceResult(
            source_id=self.source.id,
            ok=True,
            items=parsed.items,
            warnings=parsed.warnings,
            cache=cache,
            feed_url=feed_url,
        )


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


def _looks_like_feed(fetched: Fetched) -> bool:
    ctype = (fetched.content_type or "").lower()
    if any(t in ctype for t in ("rss", "atom", "xml")) and "html" not in ctype:
        return True
    head = fetched.content[:512].lstrip().lower()
    return head.startswith(b"<?xml") and (b"<rss" in head or b"<feed" in head or b"<rdf" in head)
