"""The one Jinja2 environment of rendering: where templates live, autoescaping, and the filters they use."""

from __future__ import annotations

import textwrap
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_date
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from .strings import BABEL_LOCALE

#: The repository's `templates/` folder (DESIGN.md rooms); every caller may pass another one instead.
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def templates_dir(override: Path | None = None) -> Path:
    return Path(override) if override is not None else TEMPLATES_DIR


@lru_cache(maxsize=8)
def make_environment(directory: Path | None = None) -> Environment:
    """A cached environment per templates folder: compiled templates are reused across digests.

    Autoescaping is on for everything but the plain-text templates: titles and blurbs come from other
    people's web sites, and a `<script>` in a title must reach the reader as text.
    """
    env = Environment(
        loader=FileSystemLoader(str(templates_dir(directory))),
        autoescape=select_autoescape(
            enabled_extensions=("html", "xml", "html.j2", "xml.j2"),
            disabled_extensions=("txt", "txt.j2"),
            default_for_string=True,
            default=True,
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = wrap_text
    env.filters["paragraphs"] = paragraphs
    return env


def format_day(when: datetime | date, language: str, timezone: str = "Europe/Oslo") -> str:
    """A date as a reader of `language` writes it: "12. mars 2025" (no), "12 March 2025" (en).

    Times are stored in UTC; the day is the one in the cluster's timezone, so an item published at
    23:30 Oslo time is not dated the next day.
    """
    if isinstance(when, datetime):
        if when.tzinfo is not None:
            when = when.astimezone(ZoneInfo(timezone))
        when = when.date()
    return format_date(when, format="long", locale=BABEL_LOCALE.get(language, "en_GB"))


def paragraphs(text: str) -> list[str]:
    """Paragraphs of an editor's plain text, split on blank lines, inner line breaks joined."""
    blocks = [" ".join(line.strip() for line in block.splitlines()) for block in text.split("\n\n")]
    return [b for b in blocks if b.strip()]


def wrap_text(text: str, width: int = 72, indent: str = "") -> str:
    """Plain text wrapped for the text part; long URLs are never broken (they must stay clickable)."""
    return "\n\n".join(
        textwrap.fill(
            p, width=width, initial_indent=indent, subsequent_indent=indent,
            break_long_words=False, break_on_hyphens=False,
        )
        for p in paragraphs(text)
    )
