"""Parse RSS, Atom and JSON Feed documents into `ParsedFeed` values: bytes and `now` in, values out.

feedparser does the XML work, but only on a document we have first made safe and bounded:
- decoded by us (a wrong declared charset is common and recorded as a warning) and re-encoded as UTF-8;
- the DOCTYPE (with any internal subset) and ENTITY declarations removed, so no entity is ever expanded
  (a billion-laughs DTD made feedparser run for 90 s and take 5.8 GB) and no external one is ever read;
- text-only author fields capped, because feedparser's e-mail detection is quadratic in their length
  (a 66,000-character author took 35 s).
feedparser gets a stream, never a string or bytes: given those it may open a local file of that name.
"""

from __future__ import annotations

import codecs
import copy
import hashlib
import html
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser
import feedparser.mixin
import feedparser.urls
from feedparser.util import FeedParserDict

from pipeline.collect.dates import parse_date
from pipeline.collect.normalise import (
    MAX_HTML_CHARS,
    absolute_url,
    canonical_url,
    clean_text,
    normalise_language,
    plain_text,
    sanitise_html,
    sanitised_html_to_text,
)
from pipeline.errors import ParseError
from pipeline.language import detect_language
from pipeline.types import Language, ParsedFeed, ParsedItem

TITLE_LIMIT = 1_000
AUTHOR_LIMIT = 200
FEED_TITLE_LIMIT = 300
SUMMARY_TEXT_LIMIT = 10_000
MAX_ENTRIES = 500  # a feed is a window on recent news; more is an archive dump
# Caps applied to the raw document before feedparser sees it (characters of element text).
RAW_AUTHOR_LIMIT = 500
RAW_TITLE_LIMIT = 4_000
FALLBACK_TITLE_WORDS = 12


@dataclass
class _RawEntry:
    """What one entry said, before normalising: the common shape of feedparser's and JSON Feed's."""

    base: str
    guid: str | None = None
    link: str | None = None
    title_html: str = ""
    summary_html: str = ""
    content_html: str = ""
    author: str | None = None
    language: str | None = None
    dates: list[tuple[str | None, time.struct_time | None]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)


@dataclass
class _RawFeed:
    title: str | None
    link: str | None
    language: str | None
    entries: list[_RawEntry]
    warnings: list[str]
    bozo: str | None = None  # why the XML was not well-formed, when it was not


# --- two of feedparser's costs per element, without changing what it returns -----------------------------


class _ShallowContentParams:
    """Stands in for the `copy` module inside feedparser.mixin, whose only use of it is to deep-copy the
    parameters of each text element (title, summary, content: type, language, base) into its `*_detail`.

    Those parameters are strings (or None), so a plain copy of the dict is the same value; deepcopy's
    generic machinery cost feedparser about 15% of its time on a typical feed. Anything else is still
    deep-copied.
    """

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if type(value) is FeedParserDict and all(
            v is None or type(v) in (str, int, bool) for v in dict.values(value)
        ):
            return FeedParserDict(value)  # dict's own copy: the same raw keys and values
        return copy.deepcopy(value, memo)


def _urljoin_unless_both_empty(base: str, uri: str) -> str:
    """Stands in for feedparser.mixin's `_urljoin`, which every start tag calls to join the element's
    xml:base (usually none: '') with the document's base (none unless the document uses xml:base, see
    `_response_headers`: ''). That join of two empty strings is '', and cost feedparser a regular
    expression and urljoin per element, about 6% of its time on a typical feed."""
    if base == "" and uri == "":
        return ""
    return feedparser.urls._urljoin(base, uri)


# Installed only on the feedparser 6 module layout this was measured on; anything else is left untouched.
if getattr(feedparser.mixin, "copy", None) is copy:
    feedparser.mixin.copy = _ShallowContentParams  # type: ignore[assignment]
_original_urljoin = getattr(feedparser.urls, "_urljoin", None)
if _original_urljoin is not None and getattr(feedparser.mixin, "_urljoin", None) is _original_urljoin:
    feedparser.mixin._urljoin = _urljoin_unless_both_empty


# --- public ------------------------------------------------------------------------------------------


def parse_feed(
    data: bytes,
    *,
    url: str,
    now: datetime,
    source_language: Language | None = None,
    content_type: str | None = None,
    encoding: str | None = None,
) -> ParsedFeed:
    """Read an RSS 0.9x/1.0/2.0, Atom or JSON Feed document fetched from `url`.

    A feed that is not well-formed but still yields entries is used, and the problem recorded in
    `warnings`; anything that is not a feed (an HTML page, other JSON, an empty body, garbage) raises
    `ParseError` with the reason. Entries without a link, or without both title and summary, are skipped
    with a warning. `now` stands in for a missing date (and marks the item `date_missing`).
    """
    text, warnings = _decode(data, content_type=content_type, encoding=encoding)
    head = _document_head(text)
    if not head:
        raise ParseError(url, "the URL returned an empty body, not a feed")
    if head[0] in "{[":
        raw = _parse_json_feed(text, url=url)
    elif _looks_like_html(head):
        raise ParseError(url, "the URL returned an HTML page, not a feed")
    elif head[0] != "<":
        raise ParseError(url, f"the URL returned plain text, not a feed (it starts with {head[:40]!r})")
    else:
        raw = _parse_xml(text, url=url)
    warnings.extend(raw.warnings)

    feed_language = normalise_language(raw.language)
    items: list[ParsedItem] = []
    seen: set[str] = set()
    for entry in raw.entries[:MAX_ENTRIES]:
        built = _build_item(entry, now=now, declared=(source_language, feed_language))
        if isinstance(built, str):
            warnings.append(built)
        elif built.guid in seen:
            warnings.append(f"entry {built.guid!r} appears twice; the first one was kept")
        else:
            seen.add(built.guid)
            items.append(built)
    if len(raw.entries) > MAX_ENTRIES:
        warnings.append(f"the feed has {len(raw.entries)} entries; only the first {MAX_ENTRIES} were read")
    if raw.bozo is not None:
        if not items:
            raise ParseError(
                url, f"the feed is not well-formed and no entry could be read from it ({raw.bozo})"
            )
        warnings.insert(0, f"the feed is not well-formed ({raw.bozo}); {len(items)} entries were read anyway")
    return ParsedFeed(
        title=plain_text(raw.title, FEED_TITLE_LIMIT) or None,
        link=absolute_url(raw.link, url),
        language=feed_language or source_language,
        items=tuple(items),
        warnings=tuple(warnings),
    )


# --- decoding ----------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XML_DECL = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([A-Za-z0-9._:-]{1,40})["']""")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._:-]+)""", re.I)
_SINGLE_BYTE = frozenset({"latin_1", "iso8859_15", "cp1252", "iso8859_1", "ascii"})


def _codec(name: str | None) -> str | None:
    """Python's canonical codec name, or None for an unknown or unusable label."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip().lower()).name.replace("-", "_")
    except LookupError:
        return None


def _decode(data: bytes, *, content_type: str | None, encoding: str | None) -> tuple[str, list[str]]:
    """Text of the document, and a warning when the declared charset did not fit the bytes.

    Order: byte-order mark; the HTTP charset; the XML declaration; UTF-8. A declared single-byte charset
    on bytes that are valid non-ASCII UTF-8 loses to UTF-8 (the opposite accident is impossible to
    decode cleanly by chance); bytes that fit nothing declared are read as windows-1252.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace"), []
    http_charset = encoding or _header_charset(content_type)
    decl = _XML_DECL.match(data[:300])
    candidates = (http_charset, decl.group(1).decode() if decl else None)
    labels: list[str] = [c for c in candidates if c and _codec(c)]
    first = labels[0] if labels else None
    for label in [*labels, "UTF-8"]:
        name = _codec(label) or "utf_8"
        try:
            text = data.decode(name or "utf-8")
        except UnicodeDecodeError:
            continue
        if name in _SINGLE_BYTE and not data.isascii() and _is_utf8(data):
            return data.decode("utf-8"), [f"the feed declares {label} but its bytes are UTF-8; read as UTF-8"]
        if first and name != _codec(first):
            return text, [f"the feed declares {first} but its bytes are not {first}; read as {label}"]
        return text, []
    shown = first or "UTF-8"
    return data.decode("cp1252", errors="replace"), [
        f"the feed declares {shown} but its bytes are not {shown}; read as windows-1252"
    ]


def _header_charset(content_type: str | None) -> str | None:
    m = _CHARSET.search(content_type or "")
    return m.group(1) if m else None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- sniffing ----------------------------------------------------------------------------------------

_PROLOG_NOISE = re.compile(r"^(?:\s+|<\?xml[^>]*\?>|<!--.*?-->)+", re.S)


def _document_head(text: str) -> str:
    """The first characters after whitespace, the XML declaration and comments."""
    return _PROLOG_NOISE.sub("", text[:5_000], count=1)[:200].lstrip("\ufeff")


def _looks_like_html(head: str) -> bool:
    lowered = head.lower()
    return lowered.startswith(("<!doctype html", "<html", "<head", "<body"))


# --- defusing the XML before feedparser ----------------------------------------------------------------

# Quote-aware, so a '>' or ']' inside an entity value does not end the match early. Each alternative
# starts with a different character class, so the match is linear: no catastrophic backtracking.
_Q = r"""(?:"[^"]*"|'[^']*')"""
_DOCTYPE = re.compile(rf"""<!DOCTYPE(?:[^\[>"']|{_Q})*(?:\[(?:[^\]"']|{_Q})*\])?\s*>""", re.I)
_ENTITY_DECL = re.compile(rf"""<!ENTITY(?:[^>"']|{_Q})*>""", re.I)
_LEFTOVER_DECL = re.compile(r"<!(?:DOCTYPE|ENTITY)\b", re.I)
_ANY_DECL = re.compile(r"<!(?:DOCTYPE|ENTITY)", re.I)  # every declaration pattern above starts so
_ENTITY_NAME = re.compile(r"<!ENTITY\s+(?:%\s+)?([A-Za-z_][\w.-]{0,100})", re.I)
_XML_ENTITIES = frozenset({"lt", "gt", "amp", "quot", "apos"})
_DECLARATION_SCAN = 1_000_000  # declarations sit at the top; a pathological DTD is cut off here
_MAX_DECLARED = 1_000
_XML_DECL_TEXT = re.compile(r"^\s*<\?xml[^>]*\?>")
# Element text without child elements: plain text or one CDATA section.
_TEXT_BODY = r"(?P<body><!\[CDATA\[.*?\]\]>|[^<]*)"
_AUTHOR_TAGS = frozenset(
    {"author", "creator", "managingEditor", "webMaster", "name", "email", "contributor", "publisher"}
)
# Author-like and title elements in one pattern, so that capping them is one pass over the document.
_CAPPED_FIELD = re.compile(
    rf"<(?P<tag>(?:[\w.-]+:)?(?P<local>{'|'.join(sorted(_AUTHOR_TAGS))}|title))"
    rf"(?P<attrs>\s[^>]*)?>{_TEXT_BODY}</(?P=tag)\s*>",
    re.S,
)
_PARTIAL_ENTITY = re.compile(r"&[#\w]{0,12}$")


def _defuse(text: str) -> tuple[str, list[str]]:
    """The document without DOCTYPE or ENTITY declarations and with pathological fields capped."""
    warnings: list[str] = []
    text = _XML_DECL_TEXT.sub("", text, count=1)
    if _ANY_DECL.search(text):  # most feeds declare nothing: one scan instead of four
        text = _strip_declarations(text, warnings)
    text, longest_author, longest_title = _cap_fields(text)
    for longest, limit, label in (
        (longest_author, RAW_AUTHOR_LIMIT, "an author field"),
        (longest_title, RAW_TITLE_LIMIT, "a title"),
    ):
        if longest:
            warnings.append(f"{label} of {longest:,} characters was cut to {limit:,} before parsing")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + text, warnings


def _strip_declarations(text: str, warnings: list[str]) -> str:
    declared = set(_ENTITY_NAME.findall(text[:_DECLARATION_SCAN])) - _XML_ENTITIES
    stripped = _ENTITY_DECL.sub("", _DOCTYPE.sub("", text))
    leftover = _LEFTOVER_DECL.search(stripped)
    if leftover:  # an unterminated declaration: nothing after it can be read safely
        stripped = stripped[: leftover.start()]
    if declared:
        # References to the removed entities are dropped, not expanded: the document stays well-formed
        # and none of a billion laughs reaches the output.
        names = "|".join(re.escape(n) for n in sorted(declared)[:_MAX_DECLARED])
        stripped = re.sub(rf"&(?:{names});", "", stripped)
        warnings.append("the feed declares XML entities; they were removed, not expanded")
    return stripped


def _cap_fields(text: str) -> tuple[str, int, int]:
    """`text` with author-like fields cut to RAW_AUTHOR_LIMIT characters and titles to RAW_TITLE_LIMIT;
    the longest author and title lengths that were cut."""
    longest = {True: 0, False: 0}  # keyed by "is an author field"

    def cut(m: re.Match[str]) -> str:
        body = m.group("body")
        author = m.group("local") in _AUTHOR_TAGS
        limit = RAW_AUTHOR_LIMIT if author else RAW_TITLE_LIMIT
        if len(body) <= limit:
            return m.group(0)
        longest[author] = max(longest[author], len(body))
        if body.startswith("<![CDATA["):
            body = body[: limit + 9] + "]]>"
        else:
            body = _PARTIAL_ENTITY.sub("", body[:limit])
        return f"<{m.group('tag')}{m.group('attrs') or ''}>{body}</{m.group('tag')}>"

    return _CAPPED_FIELD.sub(cut, text), longest[True], longest[False]


# --- lifting large CDATA bodies out of feedparser's way ------------------------------------------------
#
# feedparser handles every character of element text in Python (joins, a cp1252 translate, a mojibake
# check): on a typical WordPress feed, whose entries carry their HTML in CDATA sections, that is about
# 40% of its time. A CDATA section is raw text by definition, so it can be taken out before parsing and
# put back afterwards: feedparser sees a short marker and still does all the feed-structure work.
_MARK = re.compile("\ue000(\\d{1,9})\ue001")  # private-use code points never appear in real feed text
LIFT_MIN_CHARS = 256  # shorter sections cost feedparser little; leaving them avoids needless markers
# feedparser maps the C1 controls a cp1252 publisher meant as punctuation to what they stood for
_CP1252 = {
    b: bytes([b]).decode("cp1252") for b in range(0x80, 0xA0) if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_C1 = re.compile("[\x80-\x9f]")


def _lift_cdata(text: str) -> tuple[str, list[str]]:
    """`text` with each long CDATA section replaced by a marker, and the sections' contents in order.

    A document that already holds a marker character is left alone (its markers would be ambiguous), and
    so is one that declares base64 content, which feedparser decodes from the element text.
    """
    if "<![CDATA[" not in text or "\ue000" in text or "base64" in text:
        return text, []
    bodies: list[str] = []
    pieces: list[str] = []
    done = 0  # text before this offset is in `pieces`
    # str.find rather than a regular expression: a lazy ".*?" steps through every character in Python's
    # regex engine, while find scans in C
    start = text.find("<![CDATA[")
    while start != -1:
        end = text.find("]]>", start + 9)
        if end == -1:  # unterminated: left for the parser to report
            break
        if end - start - 9 >= LIFT_MIN_CHARS:
            pieces.append(text[done:start])
            pieces.append(f"\ue000{len(bodies)}\ue001")
            bodies.append(_as_feedparser_would(text[start + 9 : end]))
            done = end + 3
        start = text.find("<![CDATA[", end + 3)
    pieces.append(text[done:])
    return "".join(pieces), bodies


def _as_feedparser_would(body: str) -> str:
    """The text fixes feedparser applies to element text: undoing UTF-8 read as Latin-1, and cp1252's
    punctuation in C1 controls."""
    if body.isascii():  # neither fix can change ASCII text
        return body
    try:
        body = body.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    return body.translate(_CP1252) if _C1.search(body) else body


def _restorer(bodies: list[str]) -> Callable[[Any], Any]:
    """A function putting lifted CDATA bodies back into a string feedparser returned."""

    def restore(value: Any) -> Any:
        if not bodies or not isinstance(value, str) or "\ue000" not in value:
            return value
        return _MARK.sub(
            lambda m: bodies[int(m.group(1))] if int(m.group(1)) < len(bodies) else "", value
        ).strip()

    return restore


def _parse_xml(text: str, *, url: str) -> _RawFeed:
    safe, warnings = _defuse(text)
    safe, bodies = _lift_cdata(safe)
    restore = _restorer(bodies)
    try:
        result = _feedparser(safe, url)
    except UnicodeEncodeError:
        # feedparser's lenient parser fails on a reference to a lone surrogate ("&#xD800;"), which is no
        # character: such references become U+FFFD. Rare, so looked for only when it happens.
        safe, count = _SURROGATE_REFERENCE.subn(_replacement_reference, safe)
        warnings.append(f"{count} character references to no character (such as &#xD800;) became \ufffd")
        result = _feedparser(safe, url)
    bozo = _bozo_reason(result) if result.get("bozo") else None
    if not result.get("version") and not result.entries:
        reason = f" ({bozo})" if bozo else ""
        raise ParseError(url, f"the document is not an RSS or Atom feed{reason}")
    feed = result.feed
    atom = str(result.get("version") or "").startswith("atom")
    entries = [_from_feedparser(e, base=url, atom=atom, restore=restore) for e in result.entries]
    return _RawFeed(
        title=restore(feed.get("title")),
        link=restore(feed.get("link")),
        language=feed.get("language") or (feed.get("title_detail") or {}).get("language"),
        entries=entries,
        warnings=warnings,
        bozo=bozo,
    )


def _feedparser(text: str, url: str) -> Any:
    return feedparser.parse(
        io.BytesIO(text.encode("utf-8", errors="replace")),
        sanitize_html=False,  # nh3 sanitises afterwards, far faster
        resolve_relative_uris=False,  # we resolve the few URLs we keep
        response_headers=_response_headers(text, url),
    )


# A numeric character reference to a UTF-16 surrogate (U+D800 to U+DFFF), in hex or in decimal.
_SURROGATE_REFERENCE = re.compile(r"&#(?:[xX]0*[dD][89a-fA-F][0-9a-fA-F]{2}|0*(5[5-7]\d{3}));")


def _replacement_reference(match: re.Match[str]) -> str:
    decimal = match.group(1)
    if decimal is not None and not 0xD800 <= int(decimal) <= 0xDFFF:
        return match.group(0)
    return "&#xFFFD;"


def _response_headers(text: str, url: str) -> dict[str, str]:
    """What feedparser is told about the document, as if it had fetched it.

    The URL (content-location) only when the document uses xml:base: given a base URL, feedparser joins
    it with every element's xml:base in Python, a fifth of its time on a typical feed. Without xml:base
    every entry's base is the feed's URL anyway, which `_from_feedparser` falls back to.
    """
    headers = {"content-type": "application/xml; charset=utf-8"}
    if "xml:base" in text:
        headers["content-location"] = url
    return headers


def _bozo_reason(result: Mapping[str, Any]) -> str:
    exc = result.get("bozo_exception")
    message = getattr(exc, "getMessage", None)
    text = message() if callable(message) else str(exc)
    line = getattr(exc, "getLineNumber", None)
    return f"{text} at line {line()}" if callable(line) else text


# feedparser's own test for HTML in a field declared as text: a closing tag or an entity reference
_HTML_HINT = re.compile(r"</\w+>|&#?\w+;")


def _detail_html(
    detail: Mapping[str, Any] | None, value: str | None, restore: Callable[[Any], Any], *, atom: bool
) -> str:
    """An entry field as HTML: plain-text fields are escaped so their '<' stay text."""
    lifted = bool(value) and value != (value := restore(value))
    if not value:
        return ""
    kind = (detail or {}).get("type", "text/html")
    # feedparser guesses that an RSS "text" field holding HTML is HTML; it could not see a lifted body
    if kind == "text/plain" and lifted and not atom and _HTML_HINT.search(value):
        kind = "text/html"
    return html.escape(value, quote=False) if kind == "text/plain" else value


def _from_feedparser(
    entry: dict[str, Any], *, base: str, atom: bool, restore: Callable[[Any], Any] = lambda v: v
) -> _RawEntry:
    summary_detail = entry.get("summary_detail") or {}
    xml_base = summary_detail.get("base") or (entry.get("title_detail") or {}).get("base")
    entry_base = _join(base, xml_base) if xml_base else base
    contents = [c for c in entry.get("content") or [] if c.get("value")]
    link = restore(entry.get("link"))
    guid = restore(entry.get("id")) or None
    # An RSS guid is a permalink unless it says isPermaLink="false" (feedparser: guidislink); an Atom id
    # is often the permalink too, and a URL is the best we have when the entry has no link.
    if not link and guid and (entry.get("guidislink") or (atom and re.match(r"^https?://", guid))):
        link = guid
    return _RawEntry(
        base=entry_base,
        guid=guid,
        link=link,
        title_html=_detail_html(entry.get("title_detail"), entry.get("title"), restore, atom=atom),
        summary_html=_detail_html(summary_detail, entry.get("summary"), restore, atom=atom),
        content_html=(
            _detail_html(contents[0], contents[0].get("value"), restore, atom=atom) if contents else ""
        ),
        author=restore(entry.get("author") or _first_name(entry.get("authors"))),
        language=(entry.get("title_detail") or {}).get("language"),
        # dict.get: FeedParserDict maps a missing "updated" to "published", with a DeprecationWarning.
        dates=[
            (dict.get(entry, k), dict.get(entry, f"{k}_parsed")) for k in ("published", "updated", "created")
        ],
        images=list(_feedparser_images(entry)),
    )


def _join(base: str, ref: str) -> str:
    """`ref` (an xml:base, possibly relative) resolved against the document's URL."""
    try:
        return urljoin(base, ref)
    except ValueError:
        return base


def _first_name(authors: Iterable[Mapping[str, Any]] | None) -> str | None:
    for a in authors or ():
        if isinstance(a, Mapping) and a.get("name"):
            return str(a["name"])
    return None


_IMAGE_EXT = re.compile(r"\.(?:jpe?g|png|gif|webp|avif)(?:$|[?#])", re.I)


def _feedparser_images(entry: Mapping[str, Any]) -> Iterable[str]:
    """Image URLs an entry names, best first: media:content, media:thumbnail, image enclosures."""
    for media in entry.get("media_content") or ():
        kind = (media.get("type") or "").lower()
        medium = (media.get("medium") or "").lower()
        href = media.get("url") or ""
        if (
            medium == "image"
            or kind.startswith("image/")
            or (not kind and not medium and _IMAGE_EXT.search(href))
        ):
            yield href
    for thumb in entry.get("media_thumbnail") or ():
        if thumb.get("url"):
            yield thumb["url"]
    for link in entry.get("links") or ():
        if link.get("rel") == "enclosure" and (link.get("type") or "").lower().startswith("image/"):
            yield link.get("href") or ""


# --- JSON Feed ---------------------------------------------------------------------------------------


def _parse_json_feed(text: str, *, url: str) -> _RawFeed:
    """A JSON Feed (https://jsonfeed.org) document; any other JSON is not a feed."""
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(url, f"the URL returned malformed JSON, not a feed ({exc})") from None
    version = doc.get("version") if isinstance(doc, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise ParseError(url, "the URL returned JSON, not a feed (no JSON Feed version)")
    items = doc.get("items")
    if not isinstance(items, list):
        raise ParseError(url, "the JSON Feed has no 'items' list")
    entries = [_from_json_item(i, base=url) for i in items if isinstance(i, dict)]
    return _RawFeed(
        title=_str(doc.get("title")),
        link=_str(doc.get("home_page_url")),
        language=_str(doc.get("language")),
        entries=entries,
        warnings=[],
    )


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _from_json_item(item: Mapping[str, Any], *, base: str) -> _RawEntry:
    content = _str(item.get("content_html")) or html.escape(_str(item.get("content_text")) or "", quote=False)
    authors: list[Any] = item["authors"] if isinstance(item.get("authors"), list) else [item.get("author")]
    guid = item.get("id")
    return _RawEntry(
        base=base,
        guid=str(guid) if isinstance(guid, str | int) and str(guid) else None,
        link=_str(item.get("url")) or _str(item.get("external_url")),
        title_html=html.escape(_str(item.get("title")) or "", quote=False),
        summary_html=html.escape(_str(item.get("summary")) or "", quote=False),
        content_html=content,
        author=_first_name(a for a in authors if isinstance(a, Mapping)),
        language=_str(item.get("language")),
        dates=[(_str(item.get("date_published")), None), (_str(item.get("date_modified")), None)],
        images=[i for i in (_str(item.get("image")), _str(item.get("banner_image"))) if i],
    )


# --- building items ----------------------------------------------------------------------------------

_WP_FOOTER = re.compile(
    r"<p>(?:(?!</p>).){0,800}?(?:appeared first on|dukket først opp på)(?:(?!</p>).){0,800}?</p>\s*$", re.S
)
_WP_FOOTER_PHRASES = ("appeared first on", "dukket først opp på")
_IMG_SRC = re.compile(r"""<img\b[^>]*?\ssrc="([^"]+)\"""")


def _build_item(
    entry: _RawEntry, *, now: datetime, declared: tuple[Language | None, Language | None]
) -> ParsedItem | str:
    """A normalised item, or a warning saying why the entry was skipped."""
    title = plain_text(entry.title_html, TITLE_LIMIT)
    link = absolute_url(entry.link, entry.base)
    name = repr(title[:80]) if title else (repr(entry.guid) if entry.guid else "without title")
    if link is None:
        return f"entry {name} skipped: it has no usable link"
    chosen = entry.content_html or entry.summary_html
    summary_html = sanitise_html(chosen[:MAX_HTML_CHARS], entry.base)
    if any(phrase in summary_html for phrase in _WP_FOOTER_PHRASES):  # the regex costs more than the test
        summary_html = _WP_FOOTER.sub("", summary_html).strip()
    summary_text = _clean_paragraphs(sanitised_html_to_text(summary_html), SUMMARY_TEXT_LIMIT)
    if not title:
        if not summary_text:
            return f"entry {link} skipped: it has neither title nor summary"
        title = _first_words(summary_text, FALLBACK_TITLE_WORDS)
    published, date_missing = _published(entry.dates, now)
    guid = entry.guid or link or _hash_guid(title, entry.dates)
    return ParsedItem(
        guid=clean_text(guid, 2_000),
        url=link,
        canonical_url=canonical_url(link),
        title=title,
        summary_html=summary_html,
        summary_text=summary_text,
        published=published,
        date_missing=date_missing,
        image_url=_image(entry, summary_html),
        author=clean_text(entry.author, AUTHOR_LIMIT) or None,
        language=_language(title, summary_text, normalise_language(entry.language), declared),
    )


def _clean_paragraphs(text: str, limit: int) -> str:
    """Plain text kept in paragraphs, cut to `limit` characters at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return (cut[:space] if space > limit * 0.6 else cut).rstrip() + "…"


def _first_words(text: str, count: int) -> str:
    words = text.split()
    head = " ".join(words[:count])
    return clean_text(head + ("…" if len(words) > count else ""), TITLE_LIMIT)


def _hash_guid(title: str, dates: list[tuple[str | None, time.struct_time | None]]) -> str:
    stamp = next((raw for raw, _ in dates if raw), "")
    return "sha1:" + hashlib.sha1(f"{title}\n{stamp}".encode()).hexdigest()


def _published(
    dates: list[tuple[str | None, time.struct_time | None]], now: datetime
) -> tuple[datetime, bool]:
    """The first readable date (published, then updated), in UTC; else `now`, flagged as missing."""
    for raw, parsed in dates:
        found = parse_date(raw) if raw else None
        if found is None and parsed is not None:
            try:  # feedparser's struct_time is already UTC
                found = datetime(*parsed[:6], tzinfo=UTC)
            except ValueError:
                found = None
        if found is not None:
            return found, False
    return now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC), True


def _image(entry: _RawEntry, summary_html: str) -> str | None:
    for candidate in entry.images:
        found = absolute_url(candidate, entry.base)
        if found:
            return found
    m = _IMG_SRC.search(summary_html)  # already sanitised: absolute http(s) or gone
    return html.unescape(m.group(1)) if m else None


def _language(
    title: str,
    summary_text: str,
    entry_language: Language | None,
    declared: tuple[Language | None, Language | None],
) -> Language | None:
    """The text's own language when it is clear; else what the entry, the source or the feed declares.

    The text goes first because feeds often declare a platform default (WordPress says en-US on
    Norwegian sites), and curation picks its term list by this value.
    """
    detected = detect_language(f"{title}\n{summary_text[:300]}")  # enough to tell en from no
    source_language, feed_language = declared
    return detected or entry_language or source_language or feed_language
