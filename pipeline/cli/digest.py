"""Commands of the digest: draft, approve, lint, render."""

from __future__ import annotations

import argparse
from pathlib import Path
from zoneinfo import ZoneInfo

from pipeline import jobs
from pipeline.cli import arg, command, console, emit_json, open_services
from pipeline.cli.curate import parse_when


@command(
    "draft",
    "assemble the digest for a period, or refresh the open draft of that period; prints its id",
    arg("--since", metavar="DATE", help="period start (default: the end of the last approved digest)"),
    arg("--until", metavar="DATE", help="period end (default: now)"),
)
def cmd_draft(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        tz = svc.config.settings.timezone
        result = jobs.build_draft(
            svc,
            since=parse_when(args.since, tz) if args.since else None,
            until=parse_when(args.until, tz) if args.until else None,
        )
    finally:
        svc.close()
    if args.json:
        emit_json(result.as_json())
        return 0
    sections = ", ".join(f"{k} {v}" for k, v in result.sections.items()) or "no sections"
    print(
        f"digest {result.id} ({'new' if result.created else 'refreshed'}): {result.entries} items; {sections}"
    )
    print(result.id)
    return 0


@command(
    "lint",
    "pre-send checks: size, links, unsubscribe, alt text, embargo, empty sections",
    arg("digest_id", type=int, metavar="DIGEST_ID"),
    arg("--check-links", action="store_true", help="also ask every outbound link whether it answers"),
)
def cmd_lint(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        findings = jobs.lint_with_links(svc, args.digest_id, check_links=args.check_links)
    finally:
        svc.close()
    errors = [f for f in findings if f.level == "error"]
    if args.json:
        emit_json(
            {
                "digest": args.digest_id,
                "errors": len(errors),
                "warnings": len(findings) - len(errors),
                "findings": [f.__dict__ for f in findings],
            }
        )
    else:
        for f in findings:
            print(f"{f.level:7} {f.code:18} {f.message}" + (f"  [{f.where}]" if f.where else ""))
        print(f"digest {args.digest_id}: {len(errors)} errors, {len(findings) - len(errors)} warnings")
    return 1 if errors else 0


@command(
    "approve",
    "approve (and schedule) a digest; lint errors block it",
    arg("digest_id", type=int, metavar="DIGEST_ID"),
    arg(
        "--at",
        metavar="TIME",
        help="schedule the send for this time (default: the next send_day at send_time)",
    ),
)
def cmd_approve(args: argparse.Namespace) -> int:
    svc = open_services(args)
    tz = svc.config.settings.timezone
    try:
        at = parse_when(args.at, tz) if args.at else None
        record = jobs.approve(svc, args.digest_id, at=at)
    finally:
        svc.close()
    if args.json:
        emit_json(
            {
                "id": record.id,
                "status": record.status,
                "scheduled_at": record.scheduled_at.isoformat() if record.scheduled_at else None,
            }
        )
    else:
        when = record.scheduled_at.astimezone(ZoneInfo(tz)) if record.scheduled_at else None
        print(
            f"digest {record.id} approved; the scheduler in `serve` sends it at {when:%Y-%m-%d %H:%M} ({tz});"
            f" `python run.py send {record.id}` sends it now"
        )
    return 0


@command(
    "render",
    "write digest.html, digest.txt and the archive pages",
    arg("digest_id", type=int, metavar="DIGEST_ID"),
    arg("--out", required=True, metavar="DIR"),
)
def cmd_render(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        written = jobs.render_to(svc, args.digest_id, Path(args.out))
    finally:
        svc.close()
    if args.json:
        emit_json({"digest": args.digest_id, "files": [str(p) for p in written]})
    else:
        console().print(f"wrote {len(written)} files to {args.out}: open {Path(args.out) / 'digest.html'}")
    return 0


@command(
    "send",
    "send an approved digest to every active subscriber once (resumes after a crash)",
    arg("digest_id", type=int, metavar="DIGEST_ID"),
    arg(
        "--provider",
        choices=["outbox", "smtp", "mailgun", "sendgrid", "postmark"],
        help="override settings.delivery.provider",
    ),
    arg("--test", metavar="ADDRS", help="send a [TEST] copy to these comma-separated addresses only"),
    arg(
        "--resend-uncertain",
        action="store_true",
        help="also resend messages a crashed run left uncertain (they may arrive twice)",
    ),
)
def cmd_send(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        if args.test:
            addresses = [a.strip() for a in args.test.split(",") if a.strip()]
            report = jobs.send_test_copies(svc, args.digest_id, addresses, provider=args.provider)
        else:
            report = jobs.send(
                svc, args.digest_id, provider=args.provider, resend_uncertain=args.resend_uncertain
            )
    finally:
        svc.close()
    if args.json:
        emit_json(report)
        return 0 if not report.get("failed") else 1
    if report.get("note"):
        print(report["note"])
    print(
        f"digest {args.digest_id}{' (test)' if args.test else ''}: "
        f"{report['sent']} sent, {report['failed']} failed, "
        f"{report['suppressed']} suppressed, {report['skipped']} skipped, {report['uncertain']} uncertain"
        + (f", {report['queued']} still queued" if report.get("queued") else "")
    )
    if report.get("stopped"):
        print(f"stopped early: {report['stopped']} (run send again to continue)")
    if report.get("uncertain"):
        print(
            "uncertain messages may or may not have been accepted by the provider; see `status`, and use "
            "--resend-uncertain only if you accept duplicates"
        )
    return 0 if not report.get("failed") else 1
