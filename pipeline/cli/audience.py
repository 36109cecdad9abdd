"""Commands for the audience: subscribers add | import | export | remove | show | erase."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline import jobs
from pipeline.cli import arg, command, emit_json, open_services
from pipeline.deliver.audience import subscribers_to_csv, valid_email
from pipeline.errors import PipelineError, SubscriberError


@command(
    "subscribers",
    "manage subscribers (CSV columns: email,name,language,themes)",
    arg(
        "action",
        choices=["add", "import", "export", "remove", "show", "erase"],
        help="add EMAIL | import CSV | export [CSV] | remove EMAIL (unsubscribe) | show EMAIL (GDPR "
        "export as JSON) | erase EMAIL (delete personal data, keep a hashed suppression)",
    ),
    arg("target", nargs="?", help="an email address or a CSV file (export: file to write, default stdout)"),
    arg("--name", default=""),
    arg("--language", choices=["en", "no"], default="en"),
    arg("--themes", default="", help="theme ids separated by ';' (default: every theme)"),
    arg("--pending", action="store_true", help="import as pending: they confirm by email (double opt-in)"),
)
def cmd_subscribers(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        return ACTIONS[args.action](svc, args)
    finally:
        svc.close()


def _need_target(args: argparse.Namespace, what: str) -> str:
    if not args.target:
        raise PipelineError(f"subscribers {args.action} needs {what}")
    return str(args.target)


def _add(svc: jobs.Services, args: argparse.Namespace) -> int:
    email = _need_target(args, "an email address")
    if not valid_email(email):
        raise SubscriberError(f"'{email}' is not an email address")
    themes = [t for t in args.themes.split(";") if t]
    unknown = sorted(set(themes) - {t.id for t in svc.config.themes})
    if unknown:
        raise SubscriberError(f"unknown theme(s): {', '.join(unknown)}")
    outcome = svc.store.subscribers.add(
        email,
        name=args.name,
        language=args.language,
        themes=themes or None,
        status="pending" if args.pending else "active",
        source="cli",
        now=svc.clock(),
        update_existing=True,
    )
    if outcome.action == "refused":
        raise SubscriberError(
            f"{email} unsubscribed, bounced or asked to be erased; they must subscribe again themselves"
        )
    if args.json:
        emit_json({"email": email.lower(), "action": outcome.action})
    else:
        print(f"{outcome.action}: {email.lower()}")
    return 0


def _import(svc: jobs.Services, args: argparse.Namespace) -> int:
    path = Path(_need_target(args, "a CSV file"))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineError(f"cannot read {path}: {exc}") from exc
    report = jobs.import_subscribers(svc, text, pending=args.pending)
    if args.json:
        emit_json(report.as_json())
    else:
        print(
            f"{report.added} added, {report.unchanged} already there, {len(report.refused)} refused, "
            f"{len(report.problems)} bad rows"
        )
        if args.pending:
            print(
                f"{report.confirmations_sent} confirmation mails sent; they become active when they confirm"
            )
        for line in [*report.problems, *report.refused, *report.confirmation_errors]:
            print(f"  {line}", file=sys.stderr)
    return 1 if report.problems else 0


def _export(svc: jobs.Services, args: argparse.Namespace) -> int:
    text = subscribers_to_csv(svc.store.subscribers.iter_all())
    if args.target:
        Path(args.target).write_text(text, encoding="utf-8")
        print(f"wrote {text.count(chr(10)) - 1} subscribers to {args.target}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _remove(svc: jobs.Services, args: argparse.Namespace) -> int:
    email = _need_target(args, "an email address")
    changed = svc.store.subscribers.remove(email, svc.clock())
    if args.json:
        emit_json({"email": email, "unsubscribed": changed})
    else:
        print(f"{email}: {'unsubscribed' if changed else 'not subscribed (nothing changed)'}")
    return 0


def _show(svc: jobs.Services, args: argparse.Namespace) -> int:
    emit_json(jobs.export_subscriber_data(svc, _need_target(args, "an email address")))
    return 0


def _erase(svc: jobs.Services, args: argparse.Namespace) -> int:
    email = _need_target(args, "an email address")
    erased = svc.store.subscribers.erase(email, svc.clock())
    if args.json:
        emit_json({"email": email, "erased": erased})
    else:
        print(
            f"{email}: {'erased' if erased else 'not found'}; a hashed suppression entry keeps them from "
            "being imported again"
        )
    return 0


ACTIONS = {
    "add": _add,
    "import": _import,
    "export": _export,
    "remove": _remove,
    "show": _show,
    "erase": _erase,
}
