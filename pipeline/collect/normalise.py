"""Normalising what feeds and pages say: URLs, HTML, plain text and language codes.

Every function is pure and total: bad input gives None or an empty string, never an exception, because
one odd entry must not stop a source.
"""

from __future__ import annotations

import functools
import html
import re
import threading
import unicodedata
import warnings
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import nh3
from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

from pipeline.types import Language

# Feeds and pages are untrusted HTML: a feed URL handed to the page parser is expected, not a bug.
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)

# --- URLs --------------------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_EXACT = frozenset({"fbclid", "gclid", "mc_cid", "mc_eid"})
# HTML's URL parsing drops tabs and newlines anywhere in an attribute value; feeds wrap long hrefs.
_URL_NOISE = re.compile(r"[\t\r\n]")


def _is_tracking(param: str) -> bool:
    name = param.split("=", 1)[0].lower()
    return name.startswith("utm_") or name in _TRACKING_EXACT


def _ascii_host(host: str) -> str:
    """Lower-case host, IDN labels in their ASCII (punycode) form so both spellings compare equal."""
    host = host.lower().rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:  # labels IDNA 2003 rejects: keep the Unicode form, still lower-cased
        return host


def canonical_url(url: str) -> str:
    """The form of a URL used to recognise the same article: lower-case scheme and host, no default port,
    no fragment, no tracking parameters (utm_*, fbclid, gclid, mc_cid, mc_eid); other parameters keep
    their order and spelling. A string that is not an absolute URL is returned stripped, unchanged."""
    url = _URL_NOISE.sub("", url.strip())
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # bad IPv6 literal or port
        return url
    if not parts.scheme or not parts.hostname:
        return url
    scheme = parts.scheme.lower()
    host = _ascii_host(parts.hostname)
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    if parts.username is not None:
        userinfo = parts.username + (f":{parts.password}" if parts.password is not None else "")
        netloc = f"{userinfo}@{netloc}"
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, query, ""))


# An http(s) URL with a host of plain letters, digits, dots and hyphens, no port and no user, then a path,
# query or fragment of printable ASCII: what urlsplit accepts and absolute_url returns unchanged.
_PLAIN_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?:[/?#][!-~]*)?\Z")


# A path-absolute reference ("/news/1?page=2") of printable ASCII with no dot segment to remove, no ";"
# parameters and no empty query or fragment (urljoin drops a bare ";", "?" or "#"): joined to an http(s)
# base, it is the base's origin followed by itself, as urljoin would make it.
_PLAIN_ABSOLUTE_PATH = re.compile(
    r"/(?![/\\])[^\x00-\x20\x7f-\U0010ffff?#;]*(?:\?[^\x00-\x20\x7f-\U0010ffff#]+)?(?:#[!-~]+)?\Z"
)


@functools.lru_cache(maxsize=256)
def _http_origin(base: str) -> str | None:
    """`scheme://netloc` of an http(s) base URL with a host and a valid port, else None. Cached: the
    links of one document share its base."""
    try:
        parts = urlsplit(base)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def absolute_url(href: str | None, base: str | None) -> str | None:
    """`href` resolved against `base`, or None unless the result is an http(s) URL with a host."""
    if not href:
        return None
    href = _URL_NOISE.sub("", href.strip())
    if _PLAIN_HTTP_URL.match(href):  # the common case, and plainly valid: no need to take it apart
        return href
    if not href:
        return None
    if base and _PLAIN_ABSOLUTE_PATH.match(href) and "/." not in href:  # the next most common one
        origin = _http_origin(base)
        if origin is not None:
            return origin + href
    try:
        # urljoin would only re-serialise an absolute URL; most are, and it is the costly step
        joined = href if href.startswith(("https://", "http://")) else urljoin(base or "", href)
        parts = urlsplit(joined)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return joined


# --- HTML --------------------------------------------------------------------------------------------

ALLOWED_TAGS = frozenset(
    {"p", "br", "a", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "h2", "h3", "h4", "img"}
)
ALLOWED_ATTRIBUTES = {"a": {"href"}, "img": {"src", "alt", "width", "height"}}
# Bounds the sanitiser's work on a pathological document; summaries this long are articles anyway.
MAX_HTML_CHARS = 100_000
_DIGITS = re.compile(r"^\d{1,4}$")


# The base URL of the document being sanitised, for the one reusable cleaner's attribute filter: building
# an nh3 cleaner costs more than cleaning a typical summary. Per thread, as collectors may sanitise in
# several threads at once.
_current = threading.local()


def _keep_attribute(tag: str, attr: str, value: str) -> str | None:
    base_url: str | None = getattr(_current, "base_url", None)
    if attr == "href":
        if value.strip().lower().startswith("mailto:"):
            return value.strip()
        return absolute_url(value, base_url)
    if attr == "src":
        return absolute_url(value, base_url)
    if attr in ("width", "height"):
        return value.strip() if _DIGITS.match(value.strip()) else None
    return value


_CLEAN_OPTIONS: dict[str, Any] = {
    "tags": set(ALLOWED_TAGS),
    "clean_content_tags": {"script", "style", "template", "iframe", "object", "noscript"},
    # "*": none, or ammonia would allow its default generic attributes (lang, title) everywhere.
    "attributes": {"*": set(), **{k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()}},
    "attribute_filter": _keep_attribute,
    "url_schemes": {"http", "https", "mailto"},
    "link_rel": "noopener nofollow",
    "strip_comments": True,
}
# Older nh3 releases have no reusable Cleaner: there the sanitiser is built per call, as nh3.clean does.
_clean: Callable[[str], str] = (
    nh3.Cleaner(**_CLEAN_OPTIONS).clean
    if hasattr(nh3, "Cleaner")
    else functools.partial(nh3.clean, **_CLEAN_OPTIONS)
)


def sanitise_html(markup: str, base_url: str | None) -> str:
    """An allow-listed copy of untrusted HTML: a few text tags, links and images with absolute http(s)
    (or mailto) URLs, `rel="noopener nofollow"` on links; scripts, styles, event handlers and
    `javascript:` URLs never survive."""
    if not markup:
        return ""
    _current.base_url = base_url
    try:
        try:
            cleaned = _clean(markup[:MAX_HTML_CHARS])
        except UnicodeEncodeError:
            # A lone surrogate (a JSON "\\ud800" escape, a bad character reference) is no text, and the
            # sanitiser takes only what encodes as UTF-8. Rare: looked for only when it happens.
            cleaned = _clean(_SURROGATES.sub("", markup[:MAX_HTML_CHARS]))
    finally:
        _current.base_url = None
    return cleaned.strip()


_SURROGATES = re.compile("[\ud800-\udfff]")


_BLOCK_TAGS = frozenset(
    {
        "p", "div", "br", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
        "section", "article", "header", "footer", "figure", "figcaption", "pre", "hr", "dd", "dt", "dl",
    }
)  # fmt: skip
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript", "iframe", "object", "head", "title"})
_BLOCK_BREAK = "\x00"  # placeholder for a paragraph break: never in real text once control chars go


class _TextCollector(HTMLParser):
    """Collects character data, a paragraph break at block elements, nothing inside scripts and styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(_BLOCK_BREAK)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(_BLOCK_BREAK)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(_BLOCK_BREAK)

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


_SKIPPED_BLOCK = re.compile(
    r"<(script|style|template|noscript|iframe|object|head|title)\b[^>]*>.*?(?:</\1\s*>|\Z)", re.S | re.I
)
_COMMENT = re.compile(r"<!--.*?(?:-->|\Z)|<![^>]*>|<\?[^>]*>", re.S)
_TAG = re.compile(r"""<(/?)([A-Za-z][A-Za-z0-9]*)(?:[^>"']|"[^"]*"|'[^']*')*>""")


def _strip_tags(markup: str) -> str:
    """Character data of an HTML fragment with a paragraph break at block elements.

    Regular expressions rather than an HTML parser: this runs on every item's summary, and a tokenising
    parser in Python costs several times more. Quoted attribute values may hold '>'.
    """
    text = _COMMENT.sub("", _SKIPPED_BLOCK.sub("", markup))

    def tag(m: re.Match[str]) -> str:
        return _BLOCK_BREAK if m.group(2).lower() in _BLOCK_TAGS else ""

    text = _TAG.sub(tag, text)
    # a stray '<' that starts no tag is text; one that does (unclosed at the end) is dropped
    text = re.sub(r"<[A-Za-z/][^>]*\Z", "", text)
    return html.unescape(text)


def html_to_text(markup: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, scripts and styles left out,
    whitespace collapsed within a paragraph and paragraphs separated by a blank line."""
    if not markup:
        return ""
    if "<" not in markup:
        raw = html.unescape(markup)
    else:
        raw = _strip_tags(markup[: MAX_HTML_CHARS * 2])
    paragraphs = (_collapse(p) for p in raw.split(_BLOCK_BREAK))
    return "\n\n".join(p for p in paragraphs if p)


# nh3's serialiser writes every attribute value in double quotes with '"' escaped, and '<' in text as
# "&lt;": in its output each '<' opens a tag, and a quoted value is the only place a '>' can hide.
_IN_TAG = r"""[^>"]*(?:"[^"]*"[^>"]*)*>"""  # unrolled, so the engine never backtracks
_SANITISED_BLOCK = re.compile(rf"</?(?:{'|'.join(sorted(_BLOCK_TAGS & ALLOWED_TAGS))})\b{_IN_TAG}")
_SANITISED_TAG = re.compile(rf"<{_IN_TAG}")
_CONTROL_BUT_BREAK = re.compile(
    r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def sanitised_html_to_text(markup: str) -> str:
    """`html_to_text` for the output of `sanitise_html`, and several times faster.

    That output holds no comments, scripts or styles and only allow-listed tags, so two substitutions
    without a Python callback find every tag; whitespace is collapsed as `_collapse` does.
    """
    if not markup:
        return ""
    text = html.unescape(_SANITISED_TAG.sub("", _SANITISED_BLOCK.sub(_BLOCK_BREAK, markup)))
    paragraphs: list[str] = []
    for paragraph in text.split(_BLOCK_BREAK):
        # A printable paragraph holds no control, format or separator character but the plain space:
        # nothing to remove, and its spaces need collapsing only when doubled or at an end. Most
        # paragraphs are so, and str.isprintable is one pass in C, where removing and splitting were two
        # passes and a list of every word.
        if paragraph.isprintable():
            if "  " in paragraph or paragraph.startswith(" ") or paragraph.endswith(" "):
                paragraph = " ".join(paragraph.split())
        else:
            paragraph = " ".join(_CONTROL_BUT_BREAK.sub("", paragraph).replace("\u200b", " ").split())
        if paragraph:
            paragraphs.append(paragraph)
    return "\n\n".join(paragraphs)


_TAG_LIKE = re.compile(r"<[A-Za-z/!]")


def plain_text(markup: str | None, limit: int) -> str:
    """One clean line of text from a field that may hold HTML, e.g. a title.

    Markup that was escaped twice by the publisher ("&amp;lt;b&amp;gt;") is still markup after one
    decoding; a second pass removes it, so a title never carries tags, not even as text."""
    text = html_to_text(markup or "")
    if _TAG_LIKE.search(text):
        text = html_to_text(text)
    return clean_text(text, limit)


def html_soup(markup: bytes) -> BeautifulSoup:
    """A parsed HTML page. lxml: fast and forgiving, always installed (premailer depends on it); its HTML
    parser never expands DTD entities or reads external ones."""
    return BeautifulSoup(markup, "lxml")


# --- plain text --------------------------------------------------------------------------------------

# Control and bidi-override characters, and lone surrogates (no text; a database refuses them as UTF-8).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def _collapse(text: str) -> str:
    # str.split knows every Unicode space (NBSP, thin, ideographic, ...) but the zero-width one, and is
    # far faster than a substitution that matches each single space
    return " ".join(_CONTROL.sub("", text).replace("\u200b", " ").split())


def clean_text(s: str | None, limit: int) -> str:
    """One line of plain text: NFC, control and bidi-override characters removed, whitespace collapsed,
    cut at a word boundary to at most `limit` characters (an ellipsis marks the cut)."""
    if not s:
        return ""
    text = _collapse(unicodedata.normalize("NFC", s[: limit * 4 + 16]))
    return truncate(text, limit)


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, at a word boundary when one is near, with an ellipsis."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    cut = text[: limit - 1]
    space = len(cut) if text[len(cut)].isspace() else cut.rfind(" ")
    if space >= limit * 0.6:  # a word boundary near the end; otherwise cut mid-word rather than lose much
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


# --- language codes ------------------------------------------------------------------------------------

_NORWEGIAN = frozenset({"no", "nb", "nn", "nor", "nob", "nno", "norsk", "norwegian", "bokmål", "nynorsk"})
_ENGLISH = frozenset({"en", "eng", "english", "engelsk"})


def normalise_language(code: str | None) -> Language | None:
    """'en' for any English tag (en, en-US, en_GB), 'no' for Norwegian (nb, nn, nb-NO, nb_NO), else None."""
    if not code:
        return None
    primary = re.split(r"[-_\s]", code.strip().lower(), maxsplit=1)[0]
    if primary in _NORWEGIAN:
        return "no"
    if primary in _ENGLISH:
        return "en"
    return None
