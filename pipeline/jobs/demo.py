"""The whole main job, offline, on the bundled samples: collect, curate, draft, approve, render, send."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import parse_config
from pipeline.demo import DemoServer, demo_sources_yaml, read_base_config
from pipeline.jobs.collect import collect_all
from pipeline.jobs.curate import curate_new
from pipeline.jobs.deliver import send
from pipeline.jobs.digest import approve, build_draft, render_to
from pipeline.jobs.services import Clock, Services, utc_now
from pipeline.store import Store

#: Three demo subscribers: every theme in English, a Norwegian reader of two themes, a business reader.
DEMO_SUBSCRIBERS = (
    ("ada@example.org", "Ada Lovelace", "en", None),
    ("kari@example.org", "Kari Nordmann", "no", ("immuno-oncology", "precision-medicine")),
    ("investor@example.org", "", "en", ("funding-investment", "clinical-trials", "events")),
)


@dataclass(frozen=True)
class DemoResult:
    out: Path
    collected: int
    curated: int
    digest_id: int
    entries: int
    sent: int
    files: list[Path]


def run_demo(
    out: Path,
    *,
    base_config_text: str,
    env: dict[str, str],
    clock: Clock = utc_now,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Run the pipeline end to end against the bundled samples on a loopback server; write to `out`."""
    now = clock()
    if out.exists():
        for name in ("demo.db", "demo.db-wal", "demo.db-shm", "outbox", "archive"):
            target = out / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    out.mkdir(parents=True, exist_ok=True)
    if len(env.get("PIPELINE_SECRET_KEY", "")) < 16:
        env = {**env, "PIPELINE_SECRET_KEY": secrets.token_urlsafe(32)}
        say("PIPELINE_SECRET_KEY is not set: the demo signs its links with a throwaway key")
    with DemoServer(now) as server:
        config_text = demo_sources_yaml(
            server.base_url,
            server.host_port,
            base_config=read_base_config(base_config_text),
            outbox_dir=str(out / "outbox"),
        )
        (out / "sources.yaml").write_text(config_text, encoding="utf-8")
        config = parse_config(config_text, file=str(out / "sources.yaml"))
        store = Store.open(f"sqlite:///{out / 'demo.db'}", require_schema=False)
        store.upgrade()
        svc = Services(
            config=config, store=store, db_url=f"sqlite:///{out / 'demo.db'}", clock=clock, env=env
        )
        try:
            return _steps(svc, out, say)
        finally:
            svc.close()


def _steps(svc: Services, out: Path, say: Callable[[str], None]) -> DemoResult:
    collected = collect_all(svc, force=True)
    say(
        f"collect: {collected.sources} sources, {collected.new_items} items"
        + (
            f", {len(collected.failed)} failed: " + ", ".join(f["id"] for f in collected.failed)
            if collected.failed
            else ""
        )
    )
    curated = curate_new(svc)
    say(
        f"curate:  {curated.curated} items, {curated.tagged} tagged, {curated.noise} noise, "
        f"{curated.stories_told_by_several} stories told by several sources"
    )
    draft = build_draft(svc)
    say(f"draft:   digest {draft.id} with {draft.entries} items in {len(draft.sections)} sections")
    approve(svc, draft.id, by="demo")
    say(f"approve: digest {draft.id} (the demo approves it itself; the team runs `approve` after review)")
    files = render_to(svc, draft.id, out)
    for email, name, language, themes in DEMO_SUBSCRIBERS:
        svc.store.subscribers.add(
            email,
            name=name,
            language=language,
            themes=themes,
            status="active",
            source="demo",
            now=svc.clock(),
        )
    report = send(svc, draft.id)
    say(f"send:    {report['sent']} messages to the outbox, {report['failed']} failed")
    say("")
    say(f"open {out / 'digest.html'} (the digest), {out / 'digest.txt'} (its text part),")
    say(f"     {out / 'archive' / 'index.html'} (the web archive) and the .eml files in {out / 'outbox'}")
    return DemoResult(
        out=out,
        collected=collected.new_items,
        curated=curated.curated,
        digest_id=draft.id,
        entries=draft.entries,
        sent=int(str(report["sent"])),
        files=files,
    )  # type: ignore[call-overload]
