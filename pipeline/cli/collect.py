"""Commands of the collect side: init, check, collect, status."""

from __future__ import annotations

import argparse
import json
from typing import Any

from pipeline import jobs
from pipeline.cli import arg, command, console, emit_json, open_services, progress_bar, wants_progress
from pipeline.config import check_environment, load_config


@command("init", "create or upgrade the database (idempotent)")
def cmd_init(args: argparse.Namespace) -> int:
    svc = open_services(args, require_schema=False)
    try:
        before, after = jobs.init_database(svc.store)
    finally:
        svc.close()
    if args.json:
        emit_json({"db": args.db, "before": before, "revision": after})
    elif before == after:
        print(f"database is up to date (revision {after}): {args.db}")
    else:
        print(f"database {'created' if before is None else 'upgraded'} to revision {after}: {args.db}")
    return 0


@command("check", "validate sources.yaml and the environment, print a summary", validate_config=False)
def cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    warnings = check_environment(config)
    kinds: dict[str, int] = {}
    for s in config.sources:
        kinds[s.kind] = kinds.get(s.kind, 0) + 1
    summary = {
        "config": config.path,
        "sources": len(config.sources),
        "enabled": sum(s.enabled for s in config.sources),
        "members": sum(s.member for s in config.sources),
        "kinds": kinds,
        "themes": [t.id for t in config.themes],
        "provider": config.settings.delivery.provider,
        "public_url": config.settings.public_url,
        "warnings": warnings,
    }
    if args.json:
        emit_json(summary)
        return 0
    print(f"{config.path}: valid")
    print(
        f"  sources: {summary['sources']} ({summary['enabled']} enabled, {summary['members']} members; "
        + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
        + ")"
    )
    print(f"  themes: {', '.join(t.id for t in config.themes)}")
    print(f"  delivery: {summary['provider']}; public URL {summary['public_url']}")
    for w in warnings:
        print(f"  warning: {w}")
    return 0


@command(
    "collect",
    "fetch the sources that are due (conditional GET; failing sources back off)",
    arg("--source", action="append", metavar="ID", help="only this source (repeatable)"),
    arg("--force", action="store_true", help="fetch every enabled source now (still with validators)"),
    arg("--workers", type=int, metavar="N", help="parallel fetches (default: settings.http.workers)"),
)
def cmd_collect(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        if wants_progress(args):
            report = _collect_with_progress(svc, args)
        else:
            report = jobs.collect_all(
                svc, source_ids=args.source or (), force=args.force, workers=args.workers
            )
    finally:
        svc.close()
    if args.json:
        emit_json(report.as_json())
    else:
        _print_collect_summary(report)
    return 0


def _collect_with_progress(svc: jobs.Services, args: argparse.Namespace) -> jobs.CollectReport:
    with progress_bar("collecting") as progress:
        task = progress.add_task("", total=None)
        return jobs.collect_all(
            svc,
            source_ids=args.source or (),
            force=args.force,
            workers=args.workers,
            on_start=lambda total: progress.update(task, total=total),
            on_result=lambda r: progress.update(task, advance=1, description=r.source_id),
        )


def _print_collect_summary(report: jobs.CollectReport) -> None:
    from rich.table import Table

    out = console()
    if report.results:
        table = Table(title="collect")
        for col in ("source", "result", "new", "updated", "note"):
            table.add_column(col)
        for r in sorted(report.results, key=lambda r: (r.ok, r.source_id)):
            result = "not modified" if r.not_modified else ("ok" if r.ok else f"FAILED ({r.error_kind})")
            note = (r.error or "") if not r.ok else "; ".join(r.warnings)[:120]
            table.add_row(r.source_id, result, str(r.new_items), str(r.updated_items), note)
        out.print(table)
    out.print(
        f"{report.sources} sources: {report.fetched} fetched, {report.not_modified} not modified, "
        f"{len(report.failed)} failed; {report.new_items} new items, {report.updated_items} updated"
        + (f"; {report.skipped_not_due} not due (use --force)" if report.skipped_not_due else "")
    )


@command("status", "sources' health, jobs, queues, last digest")
def cmd_status(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        status = jobs.status(svc)
    finally:
        svc.close()
    if args.json:
        emit_json(status)
        return 0
    _print_status(status)
    return 0


def _print_status(status: dict[str, Any]) -> None:
    from rich.table import Table

    table = Table(title="sources")
    for col in ("id", "kind", "ok", "items", "last success", "failures", "next due", "last error"):
        table.add_column(col)
    for s in status["sources"]:
        table.add_row(
            s["id"],
            s["kind"],
            "yes" if s["ok"] else "NO",
            str(s["items"]),
            (s["last_success"] or "never")[:16],
            str(s["failures"]),
            (s["next_due"] or "now")[:16],
            (s["last_error"] or "")[:80],
        )
    out = console()
    out.print(table)
    for key, value in status.items():
        if key != "sources":
            out.print(f"{key}: {json.dumps(value, default=str)}")
