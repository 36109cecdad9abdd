"""A digest (or one subscriber segment of it) rendered to an inlined HTML part and a plain-text part.

Values in, strings out: `render_digest` takes a `Digest` and `Settings` and returns a `Rendered` whose
personal values are tokens (`personalise.py`). Premailer runs once per call.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..errors import RenderError
from ..types import Digest, DigestEntry, Rendered, Settings
from .colours import readable
from .environment import format_day, make_environment
from .inline import inline_css
from .personalise import PLACEHOLDERS
from .strings import HTML_LANG, translator
from .urls import is_http_url, utm_params, with_utm

#: Room left under the size budget for the personal values written in later (unsubscribe and preference
#: links with signed tokens, name, address): the budget must hold for the message a recipient gets.
PERSONAL_RESERVE_BYTES = 1024
#: Each retry drops at least one item, and usually fits on the first retry; this only bounds a bug.
MAX_ATTEMPTS = 12

_ITEM_MARK = re.compile(r"<!--i(\d+)-->(.*?)<!--/i\1-->", re.S)
_ANY_MARK = re.compile(r"<!--/?i\d+-->")


# --- the values templates see --------------------------------------------------------------------


@dataclass(frozen=True)
class EntryView:
    item_id: int
    title: str
    url: str | None  # None when the item's link is not absolute http(s): the title is shown unlinked
    source: str
    date: str
    blurb: str
    image_url: str | None
    image_alt: str
    also: tuple[tuple[str, str | None], ...]  # (name, url) of other members that reported it
    trials: tuple[tuple[str, str], ...] = ()  # (identifier, registry URL) of trials the item names


@dataclass(frozen=True)
class SectionView:
    key: str  # theme id, or "submissions" / "events"
    label: str
    entries: tuple[EntryView, ...]


@dataclass(frozen=True)
class Colours:
    primary: str
    accent: str


def segment(digest: Digest, themes: frozenset[str] | None) -> Digest:
    """The digest as a subscriber of `themes` gets it (None: every theme).

    Member submissions and events are entries with a theme too: a segment keeps those of its themes.
    """
    if themes is None:
        return digest
    return replace(
        digest,
        sections=tuple(s for s in digest.sections if s.theme in themes),
        submissions=tuple(e for e in digest.submissions if e.theme in themes),
        events=tuple(e for e in digest.events if e.theme in themes),
    )


def without_items(digest: Digest, item_ids: set[int]) -> Digest:
    """The digest without the given items; sections left empty disappear."""

    def keep(entries: tuple[DigestEntry, ...]) -> tuple[DigestEntry, ...]:
        return tuple(e for e in entries if e.item_id not in item_ids)

    sections = tuple(replace(s, entries=keep(s.entries)) for s in digest.sections)
    return replace(
        digest,
        sections=tuple(s for s in sections if s.entries),
        submissions=keep(digest.submissions),
        events=keep(digest.events),
    )


def _entry_view(entry: DigestEntry, digest: Digest, settings: Settings, warnings: list[str]) -> EntryView:
    utm = utm_params(digest.id) if settings.delivery.utm else ()
    url: str | None = entry.url
    if not is_http_url(url):
        warnings.append(f"item {entry.item_id}: link {entry.url!r} is not absolute http(s); shown unlinked")
        url = None
    image = entry.image_url if is_http_url(entry.image_url) else None
    t = translator(digest.language)
    title = entry.title.strip() or t("no_title")
    return EntryView(
        item_id=entry.item_id,
        title=title,
        url=with_utm(url, utm) if url else None,
        source=entry.source_name,
        date=format_day(entry.published, digest.language, settings.timezone),
        blurb=entry.blurb.strip(),
        image_url=image,
        # Every image needs alt text; a thumbnail says what the story is about when no alt was given.
        image_alt=(entry.image_alt or title).strip(),
        also=tuple(
            (a.name, with_utm(a.url, utm) if is_http_url(a.url) else None) for a in entry.also_reported
        ),
        trials=tuple((ident, url) for ident, url in entry.trials if is_http_url(url)),
    )


def section_views(digest: Digest, settings: Settings, warnings: list[str]) -> tuple[SectionView, ...]:
    """Theme sections, then member submissions and events when they have items."""
    t = translator(digest.language)

    def view(key: str, label: str, entries: tuple[DigestEntry, ...]) -> SectionView:
        return SectionView(key, label, tuple(_entry_view(e, digest, settings, warnings) for e in entries))

    out = [view(s.theme, s.label, s.entries) for s in digest.sections if s.entries]
    if digest.submissions:
        out.append(view("submissions", t("member_submissions"), digest.submissions))
    if digest.events:
        out.append(view("events", t("events"), digest.events))
    return tuple(out)


def _preheader(digest: Digest, sections: tuple[SectionView, ...], brand: str) -> str:
    """The preview line inboxes show after the subject: the intro's start, else the lead story."""
    t = translator(digest.language)
    intro = " ".join(digest.intro.split())
    if intro:
        return intro if len(intro) <= 110 else intro[:107].rsplit(" ", 1)[0] + "…"
    count = sum(len(s.entries) for s in sections)
    if count:
        return t("preheader_count", count=count, first=sections[0].entries[0].title)
    return t("preheader_empty", brand=brand)


def build_context(
    digest: Digest,
    settings: Settings,
    *,
    archive_url: str | None,
    tokens: dict[str, str],
    warnings: list[str],
) -> dict[str, Any]:
    """Everything the email templates see; untrusted strings stay plain strings (autoescaped there)."""
    brand = settings.branding
    primary, why = readable(brand.primary_colour)
    accent, why_accent = readable(brand.accent_colour, fallback="#b23a17", minimum=3.0)  # borders only
    warnings.extend(w for w in (why, why_accent) if w)
    sections = section_views(digest, settings, warnings)
    if archive_url is not None and not is_http_url(archive_url):
        warnings.append(f"archive URL {archive_url!r} is not absolute http(s); 'view in browser' left out")
        archive_url = None
    return {
        "lang": HTML_LANG.get(digest.language, "en"),
        "t": translator(digest.language),
        "subject": digest.subject,
        "brand": brand,
        "logo_url": brand.logo_url if is_http_url(brand.logo_url) else None,
        "colours": Colours(primary, accent),
        "issue_date": format_day(digest.period_end, digest.language, settings.timezone),
        "intro": digest.intro,
        "preheader": _preheader(digest, sections, brand.name),
        "sections": sections,
        "tokens": tokens,
        "archive_url": archive_url,
    }


# --- rendering ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    html: str
    text: str
    item_bytes: dict[int, int]  # inlined HTML bytes of each item, to choose what to drop


def _markers() -> dict[str, str]:
    """Stand-ins for the tokens while templates and premailer run, unguessable by item content.

    A title from a member's feed may contain "[[email]]"; because the real tokens are written only after
    every untrusted string is in place (and such brackets are defused first), content can never become a
    personal-value slot.
    """
    nonce = secrets.token_hex(8)
    return {token: f"zzpl{nonce}{i}zz" for i, token in enumerate(PLACEHOLDERS)}


def _finish(s: str, markers: dict[str, str], *, html: bool) -> str:
    defuse = "[&#91;" if html else "[\u200b["
    while "[[" in s:
        s = s.replace("[[", defuse)
    for token, marker in markers.items():
        s = s.replace(marker, token)
    return s


def render_html_source(digest: Digest, settings: Settings, *, themes: frozenset[str] | None = None,
                       archive_url: str | None = None, templates: Path | None = None) -> str:
    """The HTML part before inlining, tokens still as markers (for tests and the benchmark)."""
    tokens = {key: f"[[{key}]]" for key in PLACEHOLDERS.values()}
    context = build_context(segment(digest, themes), settings, archive_url=archive_url, tokens=tokens,
                            warnings=[])
    return make_environment(templates).get_template("email/digest.html.j2").render(context)


def _render_once(digest: Digest, settings: Settings, archive_url: str | None,
                 templates: Path | None, warnings: list[str]) -> _Draft:
    markers = _markers()
    tokens = {PLACEHOLDERS[token]: marker for token, marker in markers.items()}
    context = build_context(digest, settings, archive_url=archive_url, tokens=tokens, warnings=warnings)
    env = make_environment(templates)
    inlined = inline_css(env.get_template("email/digest.html.j2").render(context))
    item_bytes = {int(m.group(1)): len(m.group(2).encode("utf-8")) for m in _ITEM_MARK.finditer(inlined)}
    html = _finish(_ANY_MARK.sub("", inlined), markers, html=True)
    text = _finish(env.get_template("email/digest.txt.j2").render(context), markers, html=False)
    return _Draft(html, text, item_bytes)


def _describe(entry: DigestEntry) -> str:
    title = entry.title if len(entry.title) <= 60 else entry.title[:57] + "…"
    return f"#{entry.item_id} {title!r} (score {entry.score:.2f})"


def _choose_drops(digest: Digest, draft: _Draft, excess: int) -> list[DigestEntry]:
    """Lowest-ranked items first (oldest first among equals) until their bytes cover the excess."""
    ranked = sorted(digest.all_entries(), key=lambda e: (e.score, e.published, -e.item_id))
    chosen: list[DigestEntry] = []
    freed = 0
    for entry in ranked:
        if freed >= excess:
            break
        chosen.append(entry)
        freed += draft.item_bytes.get(entry.item_id, 0)
    return chosen


def render_digest(
    digest: Digest,
    settings: Settings,
    *,
    themes: frozenset[str] | None = None,
    archive_url: str | None = None,
    templates: Path | None = None,
) -> Rendered:
    """The digest's HTML and text parts, inlined once, personal values as tokens.

    `themes` selects a subscriber segment (None: every theme). `archive_url` is the "view in browser"
    link. Over the HTML budget (`settings.delivery.max_html_bytes`, less a reserve for personal values)
    the lowest-ranked items are dropped with a warning naming them, or `RenderError` is raised when
    `settings.delivery.over_budget == "fail"`.
    """
    budget = settings.delivery.max_html_bytes - PERSONAL_RESERVE_BYTES
    current = segment(digest, themes)
    dropped: list[DigestEntry] = []
    first_size: int | None = None
    for _ in range(MAX_ATTEMPTS):
        warnings: list[str] = []
        draft = _render_once(current, settings, archive_url, templates, warnings)
        size = len(draft.html.encode("utf-8"))
        first_size = size if first_size is None else first_size
        if size <= budget:
            break
        if settings.delivery.over_budget == "fail":
            raise RenderError(
                f"digest {digest.id}: HTML part is {size:,} bytes, over the budget of {budget:,} "
                f"({settings.delivery.max_html_bytes:,} less {PERSONAL_RESERVE_BYTES:,} for personal "
                "values); "
                "shorten blurbs, lower max_per_section, or set delivery.over_budget: drop"
            )
        drops = _choose_drops(current, draft, size - budget)
        if not drops:
            raise RenderError(f"digest {digest.id}: HTML part is {size:,} bytes with no item left to drop")
        dropped.extend(drops)
        current = without_items(current, {e.item_id for e in drops})
    else:
        raise RenderError(f"digest {digest.id}: could not bring the HTML part under {budget:,} bytes")
    if dropped:
        warnings.insert(0, (
            f"HTML part was {first_size:,} bytes, over the budget of {budget:,}: dropped {len(dropped)} "
            f"lowest-ranked item(s): " + "; ".join(_describe(e) for e in dropped)
        ))
    if not current.all_entries():
        warnings.append(f"digest {digest.id}: this segment has no items")
    return Rendered(
        subject=digest.subject,
        html=draft.html,
        text=draft.text,
        warnings=tuple(warnings),
        dropped_item_ids=tuple(e.item_id for e in dropped),
    )
