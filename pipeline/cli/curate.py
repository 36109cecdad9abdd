"""Commands of curation: curate, items, decide."""

from __future__ import annotations

import argparse
import getpass
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from pipeline import jobs
from pipeline.cli import arg, command, console, emit_json, open_services, progress_bar, wants_progress
from pipeline.errors import PipelineError


def parse_when(text: str, tz: str) -> datetime:
    """A date or date-time from the command line; naive values are in the configured timezone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise PipelineError(f"'{text}' is not a date: write 2026-11-23 or 2026-11-23T09:00") from None
    if value.tzinfo is None:
        if len(text) <= 10:
            value = datetime.combine(value.date(), time(0, 0))
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(UTC)


@command(
    "curate",
    "tag, flag noise, group and rank the items not yet curated (or changed since)",
    arg(
        "--all", action="store_true", dest="everything", help="re-curate every item (editors' decisions stay)"
    ),
)
def cmd_curate(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        if wants_progress(args):
            with progress_bar("curating") as progress:
                task = progress.add_task("", total=None)

                def advance(done: int, total: int) -> None:
                    # After the last chunk the window is grouped, which takes a while on a large one.
                    progress.update(task, completed=done, total=total, description=_stage(done, total))

                report = jobs.curate_new(svc, everything=args.everything, on_progress=advance)
        else:
            report = jobs.curate_new(svc, everything=args.everything)
    finally:
        svc.close()
    if args.json:
        emit_json(report.as_json())
    else:
        print(
            f"curated {report.curated} items: {report.tagged} tagged, {report.noise} noise; "
            f"{report.stories_told_by_several} stories told by several sources"
        )
    return 0


def _stage(done: int, total: int) -> str:
    return "grouping stories" if done >= total else "tagging"


@command(
    "items",
    "list items with their themes and the evidence for each",
    arg("--since", metavar="DATE", help="published on or after (default: the last 14 days)"),
    arg("--theme", metavar="T", help="only items tagged with this theme"),
    arg("--source", metavar="ID", action="append", help="only items of this source (repeatable)"),
)
def cmd_items(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        tz = svc.config.settings.timezone
        since = parse_when(args.since, tz) if args.since else svc.clock() - jobs.DEFAULT_ITEMS_WINDOW
        if args.theme and args.theme not in {t.id for t in svc.config.themes}:
            raise PipelineError(
                f"unknown theme '{args.theme}'; themes: " + ", ".join(t.id for t in svc.config.themes)
            )
        found = jobs.list_items(svc, since=since, theme=args.theme, source_ids=tuple(args.source or ()))
        configured = {s.id for s in svc.config.sources}
        unknown = sorted(set(args.source or ()) - configured - {str(i["source"]) for i in found})
        if unknown:  # neither configured nor the source of a listed item: a typo, most likely
            raise PipelineError(
                f"unknown source {', '.join(map(repr, unknown))}; sources: " + ", ".join(sorted(configured))
            )
    finally:
        svc.close()
    if args.json:
        emit_json({"items": found, "count": len(found)})
        return 0
    from rich.table import Table

    table = Table(title=f"{len(found)} items")
    for col in ("id", "date", "source", "title", "themes (evidence)", "noise", "group", "score"):
        table.add_column(col)
    for it in found:
        evidence_of: dict[str, Any] = it["evidence"]  # type: ignore[assignment]
        evidence = "; ".join(
            f"{t}: " + ", ".join(m["term"] for m in e["matched"][:3]) for t, e in evidence_of.items()
        )
        table.add_row(
            str(it["id"]),
            str(it["published"])[:10],
            str(it["source"]),
            str(it["title"])[:70],
            evidence[:80],
            str(it["noise"] or ""),
            str(it["group"] or ""),
            f"{it['score'] or 0:.2f}",
        )
    console().print(table)
    return 0


@command(
    "decide",
    "record an editor's decision about an item (re-curation never undoes it)",
    arg("item", type=int, metavar="ITEM_ID", help="the item, by the id `items` shows"),
    arg(
        "action",
        choices=list(jobs.DECISION_WORDS),
        metavar="ACTION",
        help="add-theme THEME | remove-theme THEME | noise [REASON] | not-noise | include (a noise item "
        "in drafts after all) | pin | unpin | merge OTHER_ITEM_ID (join that item's story) | split (a "
        "story of its own)",
    ),
    arg("value", nargs="?", metavar="VALUE", help="the theme, the reason or the other item, as ACTION says"),
    arg("--editor", metavar="NAME", help="who decides (default: $PIPELINE_EDITOR, else the login name)"),
)
def cmd_decide(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        editor = args.editor or svc.env.get("PIPELINE_EDITOR") or _login_name()
        jobs.decide_in_words(svc, args.item, args.action, args.value, editor=editor)
        view = jobs.item_view(svc, args.item)
    finally:
        svc.close()
    if args.json:
        emit_json(view)
        return 0
    themes = ", ".join(view["themes"]) or "none"  # type: ignore[arg-type]
    noise = f"noise ({view['noise']})" if view["noise"] else "not noise"
    flags = "".join(f", {flag}" for flag in ("pinned", "included") if view[flag])
    print(f"item {args.item}: themes {themes}; {noise}; story {view['group']}{flags}")
    return 0


def _login_name() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name in a container without a user entry
        return "editor"
