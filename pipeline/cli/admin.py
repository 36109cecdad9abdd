"""Commands for administrators: users, members' API keys, backup, serve."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from pipeline import jobs
from pipeline.cli import arg, command, emit_json, open_services
from pipeline.errors import ConfigError, PipelineError
from pipeline.store.backup import backup_database
from pipeline.store.users import ROLES

MIN_PASSWORD = 12


@command(
    "users",
    "editor accounts for the web UI",
    arg("action", choices=["add"], help="add: create (or with --update change) an account"),
    arg("email"),
    arg("--role", choices=ROLES, default="editor"),
    arg("--password-stdin", action="store_true", help="read the password from standard input"),
    arg("--update", action="store_true", help="change the role and password of an existing account"),
)
def cmd_users(args: argparse.Namespace) -> int:
    password = _read_password(args.password_stdin)
    svc = open_services(args)
    try:
        user = svc.store.users.add(args.email, args.role, password, svc.clock(), replace=args.update)
    finally:
        svc.close()
    if args.json:
        emit_json({"id": user.id, "email": user.email, "role": user.role})
    else:
        print(f"{user.role} {user.email} can now log in")
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise PipelineError("the two passwords differ")
    else:
        raise PipelineError("no terminal to ask for the password: pass --password-stdin and pipe it in")
    if len(password) < MIN_PASSWORD:
        raise PipelineError(f"the password must have at least {MIN_PASSWORD} characters")
    return password


@command(
    "members",
    "API keys with which a member submits news (the key is printed alone on the last line)",
    arg("action", choices=["key"]),
    arg("member_id", metavar="MEMBER_ID"),
    arg("--revoke", action="store_true", help="revoke the member's keys instead of issuing one"),
)
def cmd_members(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        known = {m.id for m in svc.config.members} | {s.id for s in svc.config.sources}
        if args.member_id not in known:
            raise ConfigError(
                f"unknown member '{args.member_id}'",
                file=svc.config.path,
                fix="use a member id from members: or a source id in sources.yaml",
            )
        if args.revoke:
            n = svc.store.member_keys.revoke(args.member_id, svc.clock())
            if args.json:
                emit_json({"member": args.member_id, "revoked": n})
            else:
                print(f"revoked {n} key(s) of {args.member_id}")
            return 0
        key = svc.store.member_keys.issue(args.member_id, svc.clock())
    finally:
        svc.close()
    if args.json:
        emit_json({"member": args.member_id, "key": key})
    else:
        print(f"API key for {args.member_id} (shown once; send it as 'Authorization: Bearer KEY'):")
        print(key)
    return 0


@command("backup", "a consistent copy of the database", arg("path", metavar="PATH"))
def cmd_backup(args: argparse.Namespace) -> int:
    svc = open_services(args)
    try:
        size = backup_database(svc.store.engine, Path(args.path))
    finally:
        svc.close()
    if args.json:
        emit_json({"path": args.path, "bytes": size})
    else:
        print(f"copied the database to {args.path} ({size:,} bytes)")
    return 0


@command(
    "serve",
    "the web UI and the scheduler (default 127.0.0.1:8025)",
    arg("--host", default="127.0.0.1"),
    arg("--port", type=int, default=8025),
    arg("--no-scheduler", action="store_true", help="serve the web UI only"),
    json_flag=False,
)
def cmd_serve(args: argparse.Namespace) -> int:
    svc = open_services(args)
    return jobs.serve(svc, host=args.host, port=args.port, scheduler=not args.no_scheduler)


@command(
    "demo",
    "the whole pipeline, offline, on bundled samples: collect, curate, draft, approve, render, send",
    arg("--out", default="demo-out", metavar="DIR", help="where to write the digest, archive and outbox"),
)
def cmd_demo(args: argparse.Namespace) -> int:
    import os

    from pipeline.jobs.demo import run_demo

    base = Path(args.config)
    quiet = args.json
    result = run_demo(
        Path(args.out),
        base_config_text=base.read_text(encoding="utf-8"),
        env=dict(os.environ),
        say=(lambda _line: None) if quiet else print,
    )
    if args.json:
        emit_json(
            {
                "out": str(result.out),
                "items": result.collected,
                "curated": result.curated,
                "digest": result.digest_id,
                "entries": result.entries,
                "sent": result.sent,
                "files": [str(p) for p in result.files],
            }
        )
    return 0
