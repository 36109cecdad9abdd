"""The web archive: a static page per digest, an index of past digests and an Atom feed of them.

Static files only, written under one folder, so any web server (or the web UI's archive blueprint) can
serve them. Pages reuse the email's section partials, styled by a normal `<style>` block: a browser needs
no inlining, and the archive copy carries no personal links.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from feedgen.feed import FeedGenerator

from ..types import Digest, Rendered, Settings
from .email import build_context, without_items
from .environment import format_day, make_environment
from .strings import HTML_LANG, item_count, translator

INDEX_NAME = "index.html"
FEED_NAME = "feed.xml"


def archive_slug(digest: Digest) -> str:
    """The file name stem of a digest's page: its period's last day, then its id (stable, sortable)."""
    return f"{digest.period_end:%Y-%m-%d}-{digest.id}"


def archive_base_url(settings: Settings) -> str:
    return settings.public_url.rstrip("/") + "/archive/"


def archive_url(digest: Digest, settings: Settings) -> str:
    """Where a digest's page is published: the "view in browser" link of its email."""
    return f"{archive_base_url(settings)}{archive_slug(digest)}.html"


@dataclass(frozen=True)
class _Listed:
    slug: str
    url: str
    subject: str
    date: str
    count: str
    intro: str


def _when(digest: Digest) -> datetime:
    when = digest.approved_at or digest.period_end
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _published(digest: Digest, rendered: Rendered) -> Digest:
    """The digest as it was sent: without the items render dropped to keep the size budget."""
    return without_items(digest, set(rendered.dropped_item_ids)) if rendered.dropped_item_ids else digest


def render_digest_page(digest: Digest, rendered: Rendered, settings: Settings,
                       templates: Path | None = None) -> str:
    """One digest's archive page (HTML)."""
    shown = _published(digest, rendered)
    context = build_context(shown, settings, archive_url=None, tokens={}, warnings=[])
    context.update(
        subject=rendered.subject,
        index_url=INDEX_NAME,
        feed_url=FEED_NAME,
    )
    return make_environment(templates).get_template("archive/digest.html.j2").render(context)


def render_index(digests: Sequence[tuple[Digest, Rendered]], settings: Settings,
                 templates: Path | None = None) -> str:
    language = settings.language
    listed = [
        _Listed(
            slug=archive_slug(d),
            url=f"{archive_slug(d)}.html",
            subject=r.subject,
            date=format_day(_when(d), d.language, settings.timezone),
            count=item_count(d.language, len(_published(d, r).all_entries())),
            intro=" ".join(d.intro.split()),
        )
        for d, r in _newest_first(digests)
    ]
    context = build_context(
        _newest_first(digests)[0][0] if digests else _placeholder_digest(settings),
        settings, archive_url=None, tokens={}, warnings=[],
    )
    context.update(
        lang=HTML_LANG.get(language, "en"),
        t=translator(language),
        listed=listed,
        issue_date="",
        index_url=INDEX_NAME,
        feed_url=FEED_NAME,
    )
    return make_environment(templates).get_template("archive/index.html.j2").render(context)


def render_feed(digests: Sequence[tuple[Digest, Rendered]], settings: Settings) -> bytes:
    """An Atom feed of the digests, newest first (feedgen writes and validates the structure)."""
    base = archive_base_url(settings)
    t = translator(settings.language)
    fg = FeedGenerator()
    fg.id(base)
    fg.title(f"{settings.branding.name}: {t('digest_title')}")
    fg.author({"name": settings.branding.name})
    fg.link(href=base, rel="alternate")
    fg.link(href=base + FEED_NAME, rel="self")
    fg.language(HTML_LANG.get(settings.language, "en"))
    ordered = _newest_first(digests)
    # An archive with no digest yet is dated by the placeholder, keeping this function pure.
    fg.updated(_when(ordered[0][0] if ordered else _placeholder_digest(settings)))
    for digest, rendered in ordered:
        shown = _published(digest, rendered)
        entry = fg.add_entry(order="append")
        url = archive_url(digest, settings)
        entry.id(url)
        entry.title(rendered.subject)
        entry.link(href=url, rel="alternate")
        entry.updated(_when(digest))
        entry.published(_when(digest))
        titles = [e.title for e in shown.all_entries()]
        summary = " ".join(digest.intro.split()) or "; ".join(titles[:5])
        entry.summary(summary or rendered.subject)
    return bytes(fg.atom_str(pretty=True))


def render_archive(
    digests: Sequence[tuple[Digest, Rendered]],
    settings: Settings,
    out_dir: Path,
    *,
    templates: Path | None = None,
) -> list[Path]:
    """Write a page per digest, `index.html` and `feed.xml` under `out_dir`; return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for digest, rendered in digests:
        page = out_dir / f"{archive_slug(digest)}.html"
        page.write_text(render_digest_page(digest, rendered, settings, templates), encoding="utf-8")
        written.append(page)
    index = out_dir / INDEX_NAME
    index.write_text(render_index(digests, settings, templates), encoding="utf-8")
    feed = out_dir / FEED_NAME
    feed.write_bytes(render_feed(digests, settings))
    return [*written, index, feed]


def _newest_first(digests: Sequence[tuple[Digest, Rendered]]) -> list[tuple[Digest, Rendered]]:
    return sorted(digests, key=lambda pair: (_when(pair[0]), pair[0].id), reverse=True)


def _placeholder_digest(settings: Settings) -> Digest:
    """The index of an archive with no digest yet still needs branding and colours."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return Digest(id=0, status="draft", period_start=epoch, period_end=epoch, language=settings.language,
                  subject="", intro="", sections=())
