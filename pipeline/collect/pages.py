"""Parse HTML pages: news listings read through a source's CSS selectors, and one article's metadata.

Pure: bytes and `now` in, values out. BeautifulSoup with lxml finds the charset from the bytes' <meta>
(see `normalise.html_soup`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import soupsieve
from bs4 import BeautifulSoup, Tag

from pipeline.collect.dates import parse_date
from pipeline.collect.normalise import (
    absolute_url,
    canonical_url,
    clean_text,
    html_soup,
    html_to_text,
    normalise_language,
    plain_text,
    sanitise_html,
)
from pipeline.errors import ParseError
from pipeline.language import detect_language
from pipeline.types import ArticleMeta, Language, ParsedFeed, ParsedItem, Selectors

TITLE_LIMIT = 1_000
SUMMARY_LIMIT = 5_000
AUTHOR_LIMIT = 200
MAX_ITEMS = 300
ARTICLE_TYPES = frozenset({"NewsArticle", "Article", "BlogPosting", "ReportageNewsArticle", "PressRelease"})


def _base_url(soup: BeautifulSoup, url: str) -> str:
    """The URL relative links resolve against: <base href> when the page has one."""
    base = soup.find("base", href=True)
    return absolute_url(str(base["href"]), url) or url if isinstance(base, Tag) else url


def _page_language(soup: BeautifulSoup) -> Language | None:
    root = soup.find("html")
    return normalise_language(str(root.get("lang") or "")) if isinstance(root, Tag) else None


# --- selectors ---------------------------------------------------------------------------------------


def _select(root: Tag, selector: str, role: str, url: str) -> list[Tag]:
    try:
        return list(root.select(selector, limit=MAX_ITEMS + 1))
    except soupsieve.SelectorSyntaxError as exc:
        raise _invalid_selector(url, role, selector, exc) from None


def _first(root: Tag, selector: str | None, role: str, url: str, *, self_too: bool = False) -> Tag | None:
    """The first element inside `root` (or `root` itself, when `self_too`) matching `selector`."""
    if not selector:
        return None
    try:
        if self_too and soupsieve.match(selector, root):
            return root
        return root.select_one(selector)
    except soupsieve.SelectorSyntaxError as exc:
        raise _invalid_selector(url, role, selector, exc) from None


def _invalid_selector(url: str, role: str, selector: str, exc: Exception) -> ParseError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return ParseError(url, f"the {role} selector {selector!r} is not valid CSS ({reason})")


def _href(*candidates: Tag | None) -> str | None:
    """The first href among the candidates, themselves or an <a href> inside them."""
    for el in candidates:
        if el is None:
            continue
        if el.get("href"):
            return str(el["href"])
        inner = el.find("a", href=True)
        if isinstance(inner, Tag):
            return str(inner["href"])
        outer = el.find_parent("a", href=True)
        if isinstance(outer, Tag):
            return str(outer["href"])
    return None


def _date_of(el: Tag | None) -> datetime | None:
    """A date from a `datetime` or `content` attribute (on the element or a <time> in it), else its text."""
    if el is None:
        return None
    inner = el.find("time", datetime=True)
    for value in (
        el.get("datetime"),
        el.get("content"),
        inner.get("datetime") if isinstance(inner, Tag) else None,
    ):
        found = parse_date(str(value)) if value else None
        if found is not None:
            return found
    return parse_date(el.get_text(" ", strip=True))


def _srcset_first(srcset: str) -> str | None:
    first = srcset.split(",")[0].strip().split()
    return first[0] if first else None


def _image_of(el: Tag | None, base: str) -> str | None:
    """An image URL from src, data-src (lazy loading) or the first srcset candidate, made absolute."""
    if el is None:
        return None
    img = el if el.name in ("img", "source") else el.find(["img", "source"])
    if not isinstance(img, Tag):
        return None
    for attr in ("src", "data-src", "data-lazy-src", "srcset", "data-srcset"):
        value = img.get(attr)
        if not value:
            continue
        candidate = _srcset_first(str(value)) if "srcset" in attr else str(value)
        found = absolute_url(candidate, base)  # a data: placeholder gives None and the next one is tried
        if found:
            return found
    return None


# --- listings ----------------------------------------------------------------------------------------


def parse_listing(
    html: bytes,
    *,
    url: str,
    selectors: Selectors,
    now: datetime,
    source_language: Language | None = None,
) -> ParsedFeed:
    """The entries of a news listing page, read through the source's CSS selectors.

    `item` finds each entry; the other selectors search inside it. An item or title selector that matches
    nothing, or items none of which has a link, raise `ParseError` naming the selector (the layout has
    changed). Optional selectors (date, summary, image) that match nothing are warnings. Items lacking a
    date or summary are marked `needs_article` so the collector may read the article page.
    """
    soup = html_soup(html)
    base = _base_url(soup, url)
    elements = _select(soup, selectors.item, "item", url)
    if not elements:
        raise ParseError(
            url, f"no element matched item selector {selectors.item!r}; the page layout may have changed"
        )
    warnings: list[str] = []
    if len(elements) > MAX_ITEMS:
        warnings.append(f"the page has more than {MAX_ITEMS} items; only the first {MAX_ITEMS} were read")
    page_language = _page_language(soup)
    matched = {"title": False, "link": False, "date": False, "summary": False, "image": False}
    items: list[ParsedItem] = []
    seen: set[str] = set()
    for el in elements[:MAX_ITEMS]:
        item = _listing_item(el, selectors, url, base, now, matched, (source_language, page_language))
        if isinstance(item, str):
            warnings.append(item)
        elif item.guid in seen:
            continue  # the same story teased twice (a featured slot and the list): keep the first
        else:
            seen.add(item.guid)
            items.append(item)
    for role in ("title", "link"):
        if not matched[role]:
            raise ParseError(
                url,
                f"no element matched {role} selector {getattr(selectors, role)!r} inside any "
                f"{selectors.item!r}; the page layout may have changed",
            )
    for role in ("date", "summary", "image"):
        if getattr(selectors, role) and not matched[role]:
            warnings.append(f"the {role} selector {getattr(selectors, role)!r} matched nothing in any item")
    title_el = soup.find("title")
    return ParsedFeed(
        title=clean_text(title_el.get_text(), 300) or None if isinstance(title_el, Tag) else None,
        link=url,
        language=page_language or source_language,
        items=tuple(items),
        warnings=tuple(warnings),
    )


def _listing_item(
    el: Tag,
    selectors: Selectors,
    url: str,
    base: str,
    now: datetime,
    matched: dict[str, bool],
    declared: tuple[Language | None, Language | None],
) -> ParsedItem | str:
    """One listing entry, or a warning saying why it was skipped. Records which selectors matched."""
    title_el = _first(el, selectors.title, "title", url, self_too=True)
    link_el = _first(el, selectors.link, "link", url, self_too=True)
    matched["title"] |= title_el is not None
    href = _href(link_el, title_el)
    link = absolute_url(href, base)
    matched["link"] |= link is not None
    title = clean_text(title_el.get_text(" ") if title_el is not None else "", TITLE_LIMIT)
    if not title and link_el is not None:
        title = clean_text(link_el.get_text(" "), TITLE_LIMIT)
    if link is None:
        return f"listing entry {title[:80]!r} skipped: no link found with selector {selectors.link!r}"
    if not title:
        return f"listing entry {link} skipped: it has no title"
    date_el = _first(el, selectors.date, "date", url)
    summary_el = _first(el, selectors.summary, "summary", url)
    image_el = _first(el, selectors.image, "image", url) if selectors.image else el.find("img")
    matched["date"] |= date_el is not None
    matched["summary"] |= summary_el is not None
    matched["image"] |= image_el is not None
    published = _date_of(date_el)
    summary_html = sanitise_html(str(summary_el), base) if summary_el is not None else ""
    summary_text = clean_text(html_to_text(summary_html), SUMMARY_LIMIT)
    source_language, page_language = declared
    return ParsedItem(
        guid=canonical_url(link),
        url=link,
        canonical_url=canonical_url(link),
        title=title,
        summary_html=summary_html,
        summary_text=summary_text,
        published=published or now.astimezone(UTC),
        date_missing=published is None,
        image_url=_image_of(image_el if isinstance(image_el, Tag) else None, base),
        language=detect_language(f"{title}\n{summary_text}") or source_language or page_language,
        needs_article=published is None or not summary_text,
    )


# --- articles ----------------------------------------------------------------------------------------


def parse_article(html: bytes, *, url: str) -> ArticleMeta:
    """OpenGraph and JSON-LD metadata of an article page, with <title>, meta description,
    <time datetime> and <html lang> as fallbacks. Broken JSON-LD is ignored."""
    soup = html_soup(html)
    base = _base_url(soup, url)
    og = _meta_values(soup)
    ld = _json_ld_article(soup)
    title_el = soup.find("title")
    time_el = soup.find("time", datetime=True)
    title = _first_text(
        (og.get("og:title"), _ld_str(ld.get("headline")), _ld_str(ld.get("name")), _text_of(title_el)),
        TITLE_LIMIT,
    )
    summary = _first_text(
        (og.get("og:description"), _ld_str(ld.get("description")), og.get("description")), SUMMARY_LIMIT
    )
    image = next(
        (
            found
            for found in (
                absolute_url(c, base)
                for c in (og.get("og:image"), og.get("og:image:url"), og.get("og:image:secure_url"))
            )
            if found
        ),
        None,
    ) or next(
        (found for found in (absolute_url(c, base) for c in _ld_images(ld.get("image"))) if found), None
    )
    published = (
        parse_date(og.get("article:published_time"))
        or parse_date(_ld_str(ld.get("datePublished")))
        or (parse_date(str(time_el["datetime"])) if isinstance(time_el, Tag) else None)
    )
    author = _first_text(
        (", ".join(_ld_authors(ld.get("author"))), og.get("author"), _non_url(og.get("article:author"))),
        AUTHOR_LIMIT,
    )
    language = (
        normalise_language(og.get("og:locale"))
        or normalise_language(_ld_str(ld.get("inLanguage")))
        or _page_language(soup)
    )
    return ArticleMeta(
        title=title,
        summary=summary,
        image_url=image,
        published=published,
        author=author,
        language=language,
    )


def _text_of(el: Any) -> str | None:
    return el.get_text(" ") if isinstance(el, Tag) else None


def _first_text(candidates: Iterable[str | None], limit: int) -> str | None:
    """The first candidate with text once tags are dropped, as one clean line."""
    for c in candidates:
        text = plain_text(c, limit) if c else ""
        if text:
            return text
    return None


def _non_url(value: str | None) -> str | None:
    return None if not value or re.match(r"^https?://", value.strip()) else value


def _meta_values(soup: BeautifulSoup) -> dict[str, str]:
    """<meta property|name=... content=...>, the first of each name, names lower-cased."""
    out: dict[str, str] = {}
    for meta in soup.find_all("meta", content=True):
        name = meta.get("property") or meta.get("name") or meta.get("itemprop")
        if name:
            out.setdefault(str(name).strip().lower(), str(meta["content"]))
    return out


def _json_ld_article(soup: BeautifulSoup) -> dict[str, Any]:
    """The first NewsArticle/Article/BlogPosting object in the page's JSON-LD (also inside @graph)."""
    for script in soup.find_all("script", type=re.compile(r"^\s*application/ld\+json", re.I)):
        try:
            doc = json.loads(script.string or script.get_text() or "", strict=False)
        except (ValueError, RecursionError):
            continue  # broken JSON-LD is common; the other sources of metadata remain
        for obj in _ld_objects(doc):
            types = obj.get("@type")
            names = {types} if isinstance(types, str) else set(types) if isinstance(types, list) else set()
            if names & ARTICLE_TYPES:
                return obj
    return {}


def _ld_objects(doc: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    if depth > 4:
        return
    if isinstance(doc, list):
        for x in doc:
            yield from _ld_objects(x, depth + 1)
    elif isinstance(doc, dict):
        yield doc
        if "@graph" in doc:
            yield from _ld_objects(doc["@graph"], depth + 1)


def _ld_str(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0]
    return None


def _ld_images(value: Any) -> Iterator[str]:
    """JSON-LD image: a URL, an ImageObject, or a list of either."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key in ("url", "contentUrl", "@id"):
            if isinstance(value.get(key), str):
                yield value[key]
                break
    elif isinstance(value, list):
        for v in value[:10]:
            yield from _ld_images(v)


def _ld_authors(value: Any) -> list[str]:
    """Author names: a string, a Person/Organization object, or a list of either."""
    if isinstance(value, str):
        return [] if re.match(r"^https?://", value) else [value]
    if isinstance(value, dict):
        return [value["name"]] if isinstance(value.get("name"), str) else []
    if isinstance(value, list):
        return [name for v in value[:10] for name in _ld_authors(v)]
    return []
