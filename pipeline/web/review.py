"""The editors' review of curated items: themes with their evidence, noise, stories, and decisions.

Every page needs a logged-in editor; every decision is a POST with a CSRF token, answered by a redirect
back to the list (so a reload never repeats it), with what happened in a flash message. Decisions go
through `jobs.decide_in_words`, as `run.py decide` does: the same words, the same checks.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from pipeline import jobs
from pipeline.errors import DecisionError, NotFound
from pipeline.web import services
from pipeline.web.auth import login_required

bp = Blueprint("review", __name__, url_prefix="/review")

#: Items on one page of the list.
PAGE_SIZE = 50
#: The filters of the list, kept in the query string (and through a decision's redirect).
FILTERS = ("since", "theme", "source", "page")


@bp.get("/items")
@login_required
def items() -> Any:
    svc = services()
    settings = svc.config.settings
    since, since_text = _since(request.args.get("since", ""), settings.timezone, svc.clock())
    themes = {t.id: t.label for t in svc.config.themes}
    theme = request.args.get("theme") or None
    if theme not in themes:
        theme = None
    source = request.args.get("source") or None
    found = jobs.list_items(svc, since=since, theme=theme, source_ids=(source,) if source else ())
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = _page(request.args.get("page", ""), pages)
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    stories: dict[str, list[object]] = {}
    for item in found:
        if item["group"]:
            stories.setdefault(str(item["group"]), []).append(item["id"])
    return render_template(
        "review/items.html",
        settings=settings,
        items=shown,
        total=len(found),
        page=page,
        pages=pages,
        stories=stories,
        themes=themes,
        sources=_sources(svc, found),
        filters={"since": since_text, "theme": theme or "", "source": source or ""},
        query=_query,
        back=request.full_path,
    )


@bp.post("/items/<int:item_id>")
@login_required
def decide(item_id: int) -> Any:
    word = request.form.get("action", "")
    try:
        jobs.decide_in_words(services(), item_id, word, request.form.get("value"), editor=g.user.email)
    except (DecisionError, NotFound) as exc:
        flash(f"Item {item_id}: {exc}")
    else:
        flash(f"Item {item_id}: {word.replace('-', ' ')} saved.")
    return redirect(_back(request.form.get("back")) + f"#item-{item_id}", code=303)


def _sources(svc: jobs.Services, found: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(id, name) of every source to filter by, by name: the configured ones and any a listed item has."""
    names = {s.id: s.name for s in svc.config.sources}
    names.update((str(item["source"]), str(item["source_name"])) for item in found)
    return sorted(names.items(), key=lambda pair: pair[1].lower())


def _since(text: str, timezone: str, now: datetime) -> tuple[datetime, str]:
    """The list's first day (default: the last two weeks), as a time and as the form shows it."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return now - jobs.DEFAULT_ITEMS_WINDOW, ""
    return datetime.combine(day, time(0, 0), tzinfo=ZoneInfo(timezone)), day.isoformat()


def _page(text: str, pages: int) -> int:
    """The page asked for, within 1..pages (the first when none or nonsense is asked for)."""
    return min(max(int(text), 1), pages) if text.isdigit() else 1


def _query(filters: dict[str, str], **changes: object) -> str:
    """The list's URL with these filters (empty ones left out) and `changes` applied."""
    values = {**filters, **{k: str(v) for k, v in changes.items()}}
    kept = {k: v for k, v in values.items() if k in FILTERS and v}
    return url_for("review.items") + (f"?{urlencode(kept)}" if kept else "")


def _back(target: str | None) -> str:
    """Where a decision returns to: the list as the editor saw it, never another site."""
    items_url = url_for("review.items")
    if target and target.startswith(items_url) and not target.startswith("//"):
        return target.split("#", 1)[0]
    return items_url
