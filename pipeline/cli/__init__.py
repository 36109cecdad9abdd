"""The command line (the contract in DESIGN.md): parse arguments, call `jobs`, print results.

Every command exits non-zero with a one-line reason on failure; `--json` prints one JSON object on stdout.
Commands live in modules by area (collect.py, digest.py, audience.py, admin.py) and register themselves
with `@command`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline import jobs
from pipeline.config import load_config
from pipeline.errors import ConfigError, PipelineError

DEFAULT_CONFIG = "sources.yaml"
DEFAULT_DB = "sqlite:///var/pipeline.db"

log = logging.getLogger("pipeline")

Handler = Callable[[argparse.Namespace], int]


@dataclass(frozen=True)
class Arg:
    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    return Arg(flags, options)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    handler: Handler
    args: tuple[Arg, ...]
    json: bool
    validate_config: bool


COMMANDS: dict[str, Command] = {}


def command(
    name: str, help_text: str, *args: Arg, json_flag: bool = True, validate_config: bool = True
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = Command(name, help_text, fn, args, json_flag, validate_config)
        return fn

    return register


def emit_json(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str))


def console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def wants_progress(args: argparse.Namespace) -> bool:
    """A progress bar is for a person at a terminal, never for --json output."""
    return not getattr(args, "json", False) and sys.stderr.isatty()


def progress_bar(label: str) -> Any:
    """A transient progress bar on stderr: `label`, the bar, done/total, elapsed time, a description."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )


def open_services(args: argparse.Namespace, *, require_schema: bool = True) -> jobs.Services:
    return jobs.make_services(args.config, args.db, require_schema=require_schema)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="run.py", description="Cluster news digest pipeline.")
    parser.add_argument(
        "--config",
        default=os.environ.get("PIPELINE_CONFIG", DEFAULT_CONFIG),
        help="sources.yaml to use (default: %(default)s)",
    )
    parser.add_argument(
        "--db", default=os.environ.get("PIPELINE_DB", DEFAULT_DB), help="database URL (default: %(default)s)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log more, and show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for cmd in sorted(COMMANDS.values(), key=_contract_order):
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        for a in cmd.args:
            p.add_argument(*a.flags, **a.options)
        if cmd.json:
            p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


#: The order of DESIGN.md's command-line contract, for --help.
ORDER = (
    "init",
    "check",
    "collect",
    "curate",
    "items",
    "draft",
    "approve",
    "lint",
    "render",
    "send",
    "subscribers",
    "users",
    "members",
    "serve",
    "status",
    "backup",
    "demo",
)


def _contract_order(cmd: Command) -> int:
    return ORDER.index(cmd.name) if cmd.name in ORDER else len(ORDER)


def main(argv: Sequence[str] | None = None) -> int:
    from pipeline.cli import admin, audience, collect, curate, digest  # noqa: F401  (they register commands)

    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "json"):
        args.json = False
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    cmd = COMMANDS[args.command]
    try:
        if cmd.validate_config:
            load_config(args.config)  # every command validates the config first
        return cmd.handler(args)
    except ConfigError as exc:
        return _fail(args, exc, code=2)
    except PipelineError as exc:
        return _fail(args, exc, code=1)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line for the user, the traceback with -v
        if args.verbose:
            raise
        print(
            f"error: internal error {type(exc).__name__}: {exc} (run with -v for the traceback)",
            file=sys.stderr,
        )
        return 70


def _fail(args: argparse.Namespace, exc: PipelineError, *, code: int) -> int:
    message = str(exc)
    if args.json:
        emit_json({"error": message, "kind": exc.kind})
    first, _, rest = message.partition("\n")
    print(f"error: {first}", file=sys.stderr)
    if rest:
        print(rest, file=sys.stderr)
    return code
