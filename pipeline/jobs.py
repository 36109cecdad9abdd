"""The use cases: the one place where stages, store and clock meet. CLI, web and scheduler call these."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from pipeline.collect.http import Fetcher
from pipeline.collect.parsing import ParserPool, Parsers
from pipeline.collect.schedule import is_due, next_state
from pipeline.collect.source import collect_source
from pipeline.config import load_config
from pipeline.errors import ConfigError
from pipeline.store import Store
from pipeline.types import Config, Source, SourceResult, SourceState

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Everything a use case needs, wired once (`make_services`); tests override any part."""

    config: Config
    store: Store
    db_url: str = ""
    clock: Clock = utc_now
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    fetcher_factory: Callable[[Config], Fetcher] | None = None

    def make_fetcher(self, **overrides: object) -> Fetcher:
        if self.fetcher_factory is not None:
            return self.fetcher_factory(self.config)
        http = replace(self.config.settings.http, **overrides) if overrides else self.config.settings.http
        return Fetcher(http)

    def close(self) -> None:
        self.store.close()


def make_services(
    config_path: str,
    db_url: str,
    *,
    require_schema: bool = True,
    env: Mapping[str, str] | None = None,
    clock: Clock = utc_now,
) -> Services:
    config = load_config(config_path)
    store = Store.open(db_url, require_schema=require_schema)
    return Services(
        config=config, store=store, db_url=db_url, clock=clock, env=dict(os.environ if env is None else env)
    )


# --- init -----------------------------------------------------------------------------------------


def init_database(store: Store) -> tuple[str | None, str]:
    """Create or upgrade the schema; running it again changes nothing."""
    return store.upgrade()


# --- collect --------------------------------------------------------------------------------------


@dataclass
class CollectReport:
    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    new_items: int = 0
    updated_items: int = 0
    skipped_not_due: int = 0
    results: list[SourceResult] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "sources": self.sources,
            "fetched": self.fetched,
            "not_modified": self.not_modified,
            "failed": self.failed,
            "new_items": self.new_items,
            "updated_items": self.updated_items,
            "skipped_not_due": self.skipped_not_due,
        }


ProgressHook = Callable[[SourceResult], None]
#: A document that takes longer than this to parse is abandoned (its source fails with that reason).
PARSE_TIME_LIMIT_S = 30.0


def select_sources(config: Config, source_ids: Iterable[str]) -> list[Source]:
    wanted = list(source_ids)
    enabled = [s for s in config.sources if s.enabled]
    if not wanted:
        return enabled
    known = {s.id: s for s in config.sources}
    unknown = [sid for sid in wanted if sid not in known]
    if unknown:
        raise ConfigError(
            f"unknown source id(s): {', '.join(unknown)}",
            file=config.path,
            fix="run `python run.py status` to list the source ids",
        )
    return [known[sid] for sid in wanted]


def due_sources(
    config: Config,
    states: Mapping[str, SourceState],
    now: datetime,
    *,
    source_ids: Iterable[str] = (),
    force: bool = False,
) -> tuple[list[Source], int]:
    """The sources to fetch now, and how many enabled ones are not due. Named sources are always fetched."""
    ids = list(source_ids)
    chosen = select_sources(config, ids)
    if force or ids:
        return chosen, 0
    due = [s for s in chosen if is_due(states.get(s.id, SourceState(source_id=s.id)), now)]
    return due, len(chosen) - len(due)


def collect_all(
    svc: Services,
    *,
    source_ids: Iterable[str] = (),
    force: bool = False,
    workers: int | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: ProgressHook | None = None,
    parse_processes: int | None = None,
) -> CollectReport:
    """Fetch the due sources in a thread pool; store each source's items and health as it completes.

    Each source is committed in its own transaction the moment it finishes, so a crash loses at most the
    sources in flight, and the next run picks them up (they are still due).
    """
    now = svc.clock()
    states = svc.store.sources.all()
    sources, not_due = due_sources(svc.config, states, now, source_ids=source_ids, force=force)
    report = CollectReport(sources=len(sources), skipped_not_due=not_due)
    if on_start:
        on_start(len(sources))
    if not sources:
        return report
    fetcher = svc.make_fetcher()
    parser_pool = ParserPool(parse_processes, time_limit_s=PARSE_TIME_LIMIT_S)
    pool_size = max(1, min(workers or svc.config.settings.http.workers, len(sources)))
    try:
        with ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="collect") as pool:
            futures: dict[Future[SourceResult], Source] = {
                pool.submit(
                    _collect_one,
                    s,
                    states.get(s.id, SourceState(source_id=s.id)),
                    fetcher,
                    now,
                    svc.store.items.known_urls,
                    parser_pool.parsers,
                ): s
                for s in sources
            }
            for fut in as_completed(futures):
                source = futures[fut]
                result = _store_result(
                    svc, source, states.get(source.id, SourceState(source_id=source.id)), fut.result()
                )
                _count(report, result)
                if on_result:
                    on_result(result)
    finally:
        fetcher.close()
        parser_pool.close()
    return report


def _collect_one(
    source: Source,
    state: SourceState,
    fetcher: Fetcher,
    now: datetime,
    known_urls: Callable[..., set[str]],
    parsers: Parsers,
) -> SourceResult:
    try:
        return collect_source(source, state, fetcher, now=now, known_urls=known_urls, parsers=parsers)
    except Exception as exc:  # a bug met on one source's data must not stop the other sources
        log.exception("collecting %s failed unexpectedly", source.id)
        return SourceResult(
            source_id=source.id,
            ok=False,
            error_kind="internal",
            error=f"internal error {type(exc).__name__}: {exc} (please report it)",
        )


def _store_result(svc: Services, source: Source, state: SourceState, result: SourceResult) -> SourceResult:
    """Store one source's items and health in one transaction; return the result with what was new."""
    now = svc.clock()
    with svc.store.transaction() as conn:
        if result.ok and result.items:
            ingested = svc.store.items.ingest(conn, source.id, result.items, now)
            result = replace(result, new_items=ingested.new, updated_items=ingested.updated)
        svc.store.sources.save(next_state(source, state, result, now), conn)
    return result


def _count(report: CollectReport, result: SourceResult) -> None:
    report.results.append(result)
    if not result.ok:
        report.failed.append(
            {"id": result.source_id, "kind": result.error_kind or "error", "reason": result.error or ""}
        )
        return
    if result.not_modified:
        report.not_modified += 1
    else:
        report.fetched += 1
    report.new_items += result.new_items
    report.updated_items += result.updated_items


# --- status ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceHealth:
    source: Source
    state: SourceState
    items: int

    @property
    def ok(self) -> bool:
        return self.state.failures == 0

    def as_json(self) -> dict[str, object]:
        s = self.state
        return {
            "id": self.source.id,
            "name": self.source.name,
            "kind": self.source.kind,
            "enabled": self.source.enabled,
            "ok": self.ok,
            "last_success": s.last_success.isoformat() if s.last_success else None,
            "last_attempt": s.last_attempt.isoformat() if s.last_attempt else None,
            "last_error_kind": s.last_error_kind,
            "last_error": s.last_error,
            "failures": s.failures,
            "next_due": s.next_due.isoformat() if s.next_due else None,
            "items": self.items,
            "feed_url": s.feed_url,
        }


def sources_health(svc: Services) -> list[SourceHealth]:
    states = svc.store.sources.all()
    counts = svc.store.items.counts_by_source()
    return [
        SourceHealth(s, states.get(s.id, SourceState(source_id=s.id)), counts.get(s.id, 0))
        for s in svc.config.sources
    ]


def status(svc: Services) -> dict[str, object]:
    """The contract's status: sources' health, jobs, the scheduler lock holder and queues."""
    return {
        "sources": [h.as_json() for h in sources_health(svc)],
        "jobs": [
            {"id": j["id"], "next_run": _epoch_iso(j["next_run"])} for j in svc.store.locks.scheduled_jobs()
        ],
        "scheduler": _scheduler_holder(svc),
        "queues": queues(svc),
    }


# --- subscribers ----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    added: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)  # unsubscribed, bounced, complained or erased
    problems: list[str] = field(default_factory=list)  # bad rows, with their line

    def as_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "problems": self.problems,
        }


def import_subscribers(svc: Services, text: str, *, pending: bool = False) -> ImportReport:
    """Add the good rows of a CSV (active, or pending for double opt-in); report each bad row."""
    from pipeline.deliver.audience import parse_subscriber_csv

    rows, problems = parse_subscriber_csv(text, {t.id for t in svc.config.themes})
    report = ImportReport(problems=[str(p) for p in problems])
    outcomes = svc.store.subscribers.add_many(
        ({"email": r.email, "name": r.name, "language": r.language, "themes": r.themes} for r in rows),
        status="pending" if pending else "active",
        source="import",
        now=svc.clock(),
    )
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome.action == "added":
            report.added += 1
        elif outcome.action == "refused":
            report.refused.append(f"line {row.line}: {row.email} unsubscribed, bounced or asked to be erased")
        else:
            report.unchanged += 1
    return report


def export_subscriber_data(svc: Services, email: str) -> dict[str, object]:
    """GDPR: everything stored about one subscriber."""
    from pipeline.errors import NotFound

    record = svc.store.subscribers.record(email)
    if record is None:
        raise NotFound(f"no subscriber {email}")
    s = record.subscriber
    return {
        "email": s.email,
        "name": s.name,
        "language": s.language,
        "themes": sorted(s.themes) if s.themes else "all",
        "status": s.status,
        "consent_at": record.consent_at.isoformat() if record.consent_at else None,
        "consent_source": record.consent_source,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "deliveries": svc.store.subscribers.delivery_history(s.id),
    }


def _epoch_iso(value: object) -> str | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return None


def _scheduler_holder(svc: Services) -> dict[str, object] | None:
    from pipeline.scheduler import LOCK

    held = svc.store.locks.holder(LOCK, svc.clock())
    if held is None:
        return None
    host, _, pid = held.holder.rpartition(":")
    return {
        "host": host,
        "pid": int(pid) if pid.isdigit() else pid,
        "since": held.acquired_at.isoformat(),
        "heartbeat": held.heartbeat_at.isoformat(),
    }


def queues(svc: Services) -> dict[str, object]:
    return {"subscribers": svc.store.subscribers.counts()}


# --- serve ----------------------------------------------------------------------------------------


def serve(svc: Services, *, host: str, port: int, scheduler: bool = True) -> int:
    """The web UI through waitress, and the scheduler when this process wins the lease."""
    from waitress import serve as waitress_serve

    from pipeline.scheduler import LOCK, holder_id, start_if_leader
    from pipeline.web import create_app

    app = create_app(svc)
    sched = start_if_leader(svc, svc.clock()) if scheduler else None
    print(f"serving on http://{host}:{port}/ (scheduler: {'on' if sched else 'off'})", flush=True)
    try:
        waitress_serve(app, host=host, port=port, threads=8, ident="cluster-news")
    finally:
        if sched is not None:
            sched.shutdown(wait=False)
            svc.store.locks.release(LOCK, holder_id())
        svc.close()
    return 0
