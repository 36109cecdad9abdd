"""Pre-send checks of a rendered digest: each finding says what is wrong and where.

`lint_digest` is pure (the digest, its rendering, settings and `now` in; findings out). `check_links`
asks a probe passed in (HEAD then GET, bounded: the fetcher's job) about every outbound link,
concurrently. Errors block approval and sending; warnings do not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from ..types import Digest, DigestEntry, Finding, Rendered, Settings
from .email import PERSONAL_RESERVE_BYTES
from .personalise import PLACEHOLDERS, PREFERENCES_URL, UNSUBSCRIBE_URL
from .urls import http_url_problem, is_http_url, private_host_problem

_TEXT_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>\"]+")


def _error(code: str, message: str, where: str = "") -> Finding:
    return Finding("error", code, message, where)


def _warning(code: str, message: str, where: str = "") -> Finding:
    return Finding("warning", code, message, where)


def _describe(entry: DigestEntry) -> str:
    title = entry.title if len(entry.title) <= 50 else entry.title[:47] + "…"
    return f"item {entry.item_id} {title!r}"


def _without_utm(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _owners(digest: Digest) -> dict[str, str]:
    """URL (without UTM parameters) -> the item that carries it, to say where a bad link is."""
    owners: dict[str, str] = {}
    for e in digest.all_entries():
        for url in (e.url, e.image_url, *(a.url for a in e.also_reported)):
            if url:
                owners.setdefault(_without_utm(url), _describe(e))
    return owners


# --- the document ------------------------------------------------------------------------------------


def _parse(html: str) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.document_fromstring(html)
    except (ValueError, etree.ParserError):
        return None


def html_links(html: str) -> list[str]:
    """Every `a href` and `img src` of the HTML part, in document order."""
    doc = _parse(html)
    if doc is None:
        return []
    return [str(v) for v in doc.xpath("//a/@href | //img/@src")]


def text_links(text: str) -> list[str]:
    return [m.group(0).rstrip(".,;:)") for m in _TEXT_URL.finditer(text)]


def outbound_links(rendered: Rendered) -> list[str]:
    """The http(s) links of both parts, once each, without the personal tokens: what `check_links` probes."""
    seen = dict.fromkeys(
        u for u in (*html_links(rendered.html), *text_links(rendered.text)) if u not in PLACEHOLDERS
    )
    return [u for u in seen if is_http_url(u)]


# --- the checks --------------------------------------------------------------------------------------


def _check_size(rendered: Rendered, settings: Settings) -> list[Finding]:
    size = len(rendered.html.encode("utf-8"))
    budget = settings.delivery.max_html_bytes
    if size > budget:
        return [_error("size_budget", f"HTML part is {size:,} bytes, over the {budget:,}-byte budget "
                       "(Gmail clips bigger messages); drop items or shorten blurbs", "html")]
    if size > budget - PERSONAL_RESERVE_BYTES:
        return [_warning("size_near_budget", f"HTML part is {size:,} bytes: personal links may take it "
                         f"over the {budget:,}-byte budget", "html")]
    return []


def _check_parts(rendered: Rendered) -> list[Finding]:
    out: list[Finding] = []
    if not rendered.text.strip():
        out.append(_error("no_text_part", "the plain-text part is empty", "text"))
    if not rendered.html.strip():
        out.append(_error("no_html_part", "the HTML part is empty", "html"))
    return out


def _check_unsubscribe(rendered: Rendered, doc: lxml.html.HtmlElement | None) -> list[Finding]:
    out: list[Finding] = []
    hrefs = set(doc.xpath("//a/@href")) if doc is not None else set()
    missing = f"no unsubscribe link ({UNSUBSCRIBE_URL}) in the"
    if UNSUBSCRIBE_URL not in hrefs:
        out.append(_error("no_unsubscribe", f"{missing} HTML part", "html"))
    if UNSUBSCRIBE_URL not in rendered.text:
        out.append(_error("no_unsubscribe", f"{missing} text part", "text"))
    if PREFERENCES_URL not in hrefs:
        out.append(_warning("no_preferences", "no link to manage preferences in the HTML part", "html"))
    return out


def _authority(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{(parts.hostname or '').lower()}:{port}"


def _check_link(url: str, part: str, owners: dict[str, str], allowed: frozenset[str]) -> list[Finding]:
    if url in PLACEHOLDERS:
        return []
    where = owners.get(_without_utm(url), part)
    problem = http_url_problem(url)
    if problem:
        return [_error("bad_link", f"link {url!r} is not a well-formed absolute http(s) URL: {problem}",
                       where)]
    private = private_host_problem(url)
    if private and _authority(url) not in allowed:  # settings.http.allow_private: an intranet on purpose
        single_label = "single-label" in private
        make = _warning if single_label else _error
        return [make("private_link", f"link {url} points inside a network: {private}", where)]
    return []


def _check_links(digest: Digest, rendered: Rendered, doc: lxml.html.HtmlElement | None,
                 allowed: frozenset[str]) -> list[Finding]:
    owners = _owners(digest)
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    html_urls = [str(v) for v in doc.xpath("//a/@href | //img/@src")] if doc is not None else []
    for part, urls in (("html", html_urls), ("text", text_links(rendered.text))):
        for url in urls:
            if (part, url) not in seen:
                seen.add((part, url))
                out.extend(_check_link(url, part, owners, allowed))
    if doc is not None:
        for a in doc.xpath("//a[not(@href)]"):
            out.append(_warning("bad_link", f"link {a.text_content().strip()[:40]!r} has no href", "html"))
    written = {_without_utm(u) for u in text_links(rendered.text)}
    for e in digest.all_entries():
        shown = e.item_id not in rendered.dropped_item_ids
        if shown and is_http_url(e.url) and _without_utm(e.url) not in written:
            out.append(_warning("text_missing_link", f"the text part does not write out {e.url}",
                                _describe(e)))
    return out


def _check_images(doc: lxml.html.HtmlElement | None) -> list[Finding]:
    out: list[Finding] = []
    if doc is None:
        return out
    for img in doc.iter("img"):
        src = img.get("src", "")
        alt = img.get("alt")
        if alt is None:
            out.append(_error("missing_alt", f"image {src} has no alt text", src or "html"))
        elif not alt.strip():
            out.append(_warning("empty_alt", f"image {src} has empty alt text", src or "html"))
    return out


def _check_active_content(doc: lxml.html.HtmlElement | None) -> list[Finding]:
    """Defence in depth: templates autoescape, so none of this should ever appear."""
    if doc is None:
        return [_error("unparsable_html", "the HTML part could not be parsed", "html")]
    out: list[Finding] = []
    if doc.xpath("//script | //iframe | //object | //embed | //form"):
        out.append(_error("active_content", "the HTML part contains script, iframe, object or form", "html"))
    if doc.xpath("//link[@rel='stylesheet']"):
        out.append(_error("external_stylesheet", "the HTML part links an external stylesheet", "html"))
    if any(name.lower().startswith("on") for el in doc.iter() for name in getattr(el, "attrib", {})):
        out.append(_error("active_content", "the HTML part has an event-handler attribute", "html"))
    return out


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _check_embargo(digest: Digest, rendered: Rendered, now: datetime) -> list[Finding]:
    dropped = set(rendered.dropped_item_ids)
    return [
        _error("embargo", f"under embargo until {e.embargo_until:%Y-%m-%d %H:%M %Z}; remove it or send later",
               _describe(e))
        for e in digest.all_entries()
        if e.embargo_until is not None and _aware(e.embargo_until) > _aware(now) and e.item_id not in dropped
    ]


def _check_sections(digest: Digest) -> list[Finding]:
    out = [
        _error("empty_section", f"section {s.label!r} has no items", f"section {s.theme}")
        for s in digest.sections
        if not s.entries
    ]
    if not digest.all_entries():
        out.append(_error("empty_digest", "the digest has no items", f"digest {digest.id}"))
    return out


def _check_render_warnings(rendered: Rendered) -> list[Finding]:
    out = [_warning("render", w, "render") for w in rendered.warnings]
    if rendered.dropped_item_ids:
        ids = ", ".join(str(i) for i in rendered.dropped_item_ids)
        out.append(_warning("dropped_items", f"items dropped to keep the size budget: {ids}", "render"))
    return out


def lint_digest(digest: Digest, rendered: Rendered, settings: Settings, now: datetime) -> list[Finding]:
    """Every pre-send finding for one rendered digest (or segment), errors first."""
    doc = _parse(rendered.html)
    findings = [
        *_check_size(rendered, settings),
        *_check_parts(rendered),
        *_check_active_content(doc),
        *_check_unsubscribe(rendered, doc),
        *_check_links(digest, rendered, doc, frozenset(a.lower() for a in settings.http.allow_private)),
        *_check_images(doc),
        *_check_embargo(digest, rendered, now),
        *_check_sections(digest),
        *_check_render_warnings(rendered),
    ]
    return sorted(findings, key=lambda f: f.level != "error")


# --- answered links ----------------------------------------------------------------------------------

Probe = Callable[[str], int | None]


def _classify(url: str, status: int | None, error: str | None) -> Finding | None:
    if status is None:
        reason = f": {error}" if error else ""
        return _error("link_unreachable", f"no answer from {url}{reason}", url)
    if status < 400:
        return None
    if status in (401, 403, 429) or status >= 500:
        # Refusals of robots and server trouble say nothing sure about the page itself.
        return _warning("link_error", f"{url} answered HTTP {status}", url)
    return _error("dead_link", f"{url} answered HTTP {status}", url)


def check_links(urls: Iterable[str], probe: Probe, *, workers: int = 8) -> list[Finding]:
    """Ask `probe` about every distinct http(s) URL, `workers` at a time; a finding per bad answer.

    The probe returns the final HTTP status, or None when nothing answered; its timeouts bound the work.
    An exception from the probe counts as no answer for that URL only.
    """
    unique = [u for u in dict.fromkeys(urls) if is_http_url(u)]
    if not unique:
        return []

    def ask(url: str) -> Finding | None:
        try:
            return _classify(url, probe(url), None)
        except Exception as exc:  # one bad link never stops the others; the finding names the failure
            return _classify(url, None, f"{type(exc).__name__}: {exc}")

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(unique)))) as pool:
        results = list(pool.map(ask, unique))
    return [f for f in results if f is not None]
