"""Use cases of collection: fetch the due sources, store what they said and how they are."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime

from pipeline.collect.http import Fetcher
from pipeline.collect.parsing import ParserPool, Parsers
from pipeline.collect.schedule import is_due, next_state
from pipeline.collect.source import collect_source
from pipeline.errors import ConfigError
from pipeline.jobs.services import Services
from pipeline.types import Config, Source, SourceResult, SourceState

log = logging.getLogger(__name__)

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
#: At most this many finished sources share one transaction.
STORE_BATCH = 50


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

    Each source is committed as soon as it finishes (with any others that finished meanwhile), so a crash
    loses at most the sources in flight, and the next run picks them up (they are still due).
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
    # Finished sources come back through a queue rather than their futures: a future keeps its result
    # (every item's HTML and text) until the whole run ends, and the store has them once written.
    finished: queue.SimpleQueue[tuple[Source, SourceResult]] = queue.SimpleQueue()

    def work(source: Source) -> None:
        state = states.get(source.id, SourceState(source_id=source.id))
        result = _failed(source, "the collector thread stopped before finishing this source")
        try:
            result = _collect_one(
                source, state, fetcher, now, svc.store.items.known_urls, parser_pool.parsers
            )
        finally:
            finished.put((source, result))

    try:
        with ThreadPoolExecutor(max_workers=pool_size, thread_name_prefix="collect") as pool:
            for s in sources:
                pool.submit(work, s)
            remaining = len(sources)
            while remaining:
                batch = _take_finished(finished, limit=min(remaining, STORE_BATCH))
                remaining -= len(batch)
                for result in _store_results(svc, batch, states):
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
        return _failed(source, f"internal error {type(exc).__name__}: {exc} (please report it)")


def _failed(source: Source, error: str) -> SourceResult:
    return SourceResult(source_id=source.id, ok=False, error_kind="internal", error=error)


def _take_finished(
    finished: queue.SimpleQueue[tuple[Source, SourceResult]], *, limit: int
) -> list[tuple[Source, SourceResult]]:
    """The next finished source (waiting for it), and any others already finished, up to `limit`."""
    batch = [finished.get()]
    while len(batch) < limit:
        try:
            batch.append(finished.get_nowait())
        except queue.Empty:
            break
    return batch


def _store_results(
    svc: Services, batch: list[tuple[Source, SourceResult]], states: dict[str, SourceState]
) -> list[SourceResult]:
    """Store the items and health of sources that finished together, in one transaction; the results
    with what was new. Sources finishing while the last batch was written share one commit, which costs
    far less than a commit each, and a crash still loses only sources not yet written."""
    now = svc.clock()
    stored: list[SourceResult] = []
    health: list[SourceState] = []
    with svc.store.transaction() as conn:
        for source, result in batch:
            if result.ok and result.items:
                ingested = svc.store.items.ingest(conn, source.id, result.items, now)
                result = replace(result, new_items=ingested.new, updated_items=ingested.updated)
            state = states.get(source.id, SourceState(source_id=source.id))
            health.append(next_state(source, state, result, now))
            stored.append(result)
        svc.store.sources.save_many(health, conn)
    return stored


def _count(report: CollectReport, result: SourceResult) -> None:
    # The report keeps each source's outcome, not its items: those are stored, and holding them all
    # would keep every summary of the run in memory until it ends.
    report.results.append(replace(result, items=()))
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
