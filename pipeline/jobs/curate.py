"""Use cases of curation: tag, flag and group new or changed items; list items with their evidence."""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext

from pipeline.curate.curation import apply_editor_decisions, curate_item, group_overrides
from pipeline.curate.groups import Pairs, StoryFeatures, StoryInput, group_stories, story_features
from pipeline.curate.members import MemberMatcher, member_matcher
from pipeline.curate.noise import NoiseMatcher, noise_matcher
from pipeline.curate.themes import ThemeMatcher, noise_rules_from_mapping
from pipeline.errors import NotFound
from pipeline.jobs.services import Services
from pipeline.language import detect_language
from pipeline.store.curation import CurationRecord, curation_from_record, curation_record
from pipeline.types import (
    Config,
    Curation,
    DigestSettings,
    EditorDecision,
    Evidence,
    Source,
    StoredItem,
)

#: Grouping compares an item with the items published this many days around it: a story is re-told
#: within days, and a bounded window keeps grouping linear in the number of items.
GROUP_WINDOW = timedelta(days=30)
#: A batch at least this large is tagged by a pool of processes, one per core; below it the pool's
#: start-up (a fork, or with threads around an import and the matchers' compilation) costs more than it saves.
POOL_MIN_ITEMS = 5_000
#: Items sent to a worker at once: enough to amortise the pickling of a task, few enough to share the
#: work evenly and report progress.
POOL_CHUNK = 1_000


@dataclass(frozen=True)
class CurationContext:
    """Matchers compiled once per configuration."""

    themes: ThemeMatcher
    noise: NoiseMatcher
    members: MemberMatcher
    sources: dict[str, Source]


_CONTEXTS: dict[int, tuple[Config, CurationContext]] = {}


def curation_context(config: Config) -> CurationContext:
    """The compiled matchers of this configuration, built once (keyed by identity: Config holds dicts)."""
    cached = _CONTEXTS.get(id(config))
    if cached is None or cached[0] is not config:
        if len(_CONTEXTS) > 8:
            _CONTEXTS.clear()
        cached = _CONTEXTS[id(config)] = (config, _build_context(config))
    return cached[1]


def _build_context(config: Config) -> CurationContext:
    names = [(m.id, (m.name, *m.aliases)) for m in config.members]
    return CurationContext(
        themes=ThemeMatcher(config.themes),
        noise=noise_matcher(noise_rules_from_mapping({"noise": dict(config.noise)})),
        members=member_matcher(names),
        sources={s.id: s for s in config.sources},
    )


def source_of(ctx: CurationContext, source_id: str) -> Source:
    """The item's source; one removed from the config since is still a (non-member) source by its id."""
    return ctx.sources.get(source_id) or Source(
        id=source_id, name=source_id, kind="feed", url="https://invalid.invalid/"
    )


@dataclass
class CurateReport:
    curated: int = 0
    tagged: int = 0
    noise: int = 0
    groups_changed: int = 0
    stories_told_by_several: int = 0

    def as_json(self) -> dict[str, int]:
        return dict(self.__dict__)


def curate_new(
    svc: Services, *, everything: bool = False, on_progress: Callable[[int, int], None] | None = None
) -> CurateReport:
    """Curate items not curated yet (or changed since); `everything` re-curates all. Editors' decisions are
    applied on top every time, so re-curation never undoes them. Then regroup the recent window."""
    with gc_paused():  # loading builds an object per item and column (see gc_paused)
        pending = svc.store.curations.to_curate(everything=everything)
        return curate_items(svc, pending, on_progress=on_progress)


def curate_items(
    svc: Services,
    pending: Sequence[StoredItem],
    *,
    workers: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> CurateReport:
    """Curate `pending` and regroup their window.

    Each chunk is stored as soon as it is curated, while the pool works on the next ones, in its own
    transaction: a crash keeps what was stored, and the next run curates only the rest. Items keep the
    group key they had, so that a re-curated story keeps its key until regrouping says otherwise.
    """
    with gc_paused():  # from reading to regrouping (see gc_paused)
        return _curate_and_regroup(svc, pending, workers, on_progress)


def _curate_and_regroup(
    svc: Services,
    pending: Sequence[StoredItem],
    workers: int | None,
    on_progress: Callable[[int, int], None] | None,
) -> CurateReport:
    now = svc.clock()
    ctx = curation_context(svc.config)
    ids = [i.id for i in pending]
    seen_decisions = svc.store.curations.last_decision_id()  # read first: a later one is caught below
    decisions = svc.store.curations.decisions(ids)
    previous = svc.store.curations.groups(ids)
    hashes = {i.id: i.content_hash for i in pending}
    features: dict[int, StoryFeatures] = {}
    report = CurateReport()
    for chunk in curate_stream(
        ctx, pending, decisions, svc.config.settings.digest, now, workers=workers, on_progress=on_progress
    ):
        records = [_keep_group(record, previous) for record, _f in chunk]
        svc.store.curations.save_records([(r, hashes[r.item_id]) for r in records], now)
        for record, story in chunk:
            features[record.item_id] = story
            report.tagged += record.primary_theme is not None
            report.noise += record.noise is not None
        report.curated += len(chunk)
    # An editor who decided about an item while the batch ran (in the web UI) had it re-curated at
    # once; the batch's older result may have been stored over it since.
    late = svc.store.curations.items_decided_after(seen_decisions) & hashes.keys()
    for item in (i for i in pending if i.id in late):
        recurate(svc, item, now)
    if pending:
        newest = max(i.published for i in pending)
        oldest = min(i.published for i in pending)
        report.groups_changed, report.stories_told_by_several = regroup(
            svc, since=oldest - GROUP_WINDOW, until=newest + GROUP_WINDOW, features=features
        )
    return report


def recurate(svc: Services, item: StoredItem, now: datetime) -> Curation:
    """Curate one item with its editors' decisions as they stand, and store it. It keeps its stored
    group key unless an editor's merge or split sets one (regrouping is the caller's)."""
    decisions = svc.store.curations.decisions([item.id]).get(item.id, [])
    curation = curate_one(curation_context(svc.config), item, decisions, svc.config, now)
    previous = svc.store.curations.groups([item.id]).get(item.id)
    curation = replace(curation, group_key=curation.group_key or previous)
    svc.store.curations.save([(curation, item.content_hash)], now)
    return curation


def _keep_group(record: CurationRecord, previous: Mapping[int, str]) -> CurationRecord:
    """The curation with the group key its item had, unless an editor's merge or split set one; a new
    item starts as a story of its own (the key grouping gives a story told once), so that regrouping
    writes only the keys of the items it joins."""
    if record.group_key is None:
        return record._replace(group_key=previous.get(record.item_id) or f"g{record.item_id}")
    return record


def curate_one(
    ctx: CurationContext, item: StoredItem, decisions: list[EditorDecision], config: Config, now: datetime
) -> Curation:
    return _curate(ctx, item, decisions, config.settings.digest, now)


def _curate(
    ctx: CurationContext,
    item: StoredItem,
    decisions: Sequence[EditorDecision],
    settings: DigestSettings,
    now: datetime | None,
) -> Curation:
    automatic = curate_item(
        item,
        matcher=ctx.themes,
        noise_rules=ctx.noise,
        members=ctx.members,
        source=source_of(ctx, item.source_id),
        detect_language=detect_language,
        settings=settings,
        now=now,
    )
    return apply_editor_decisions(automatic, decisions)


# --- batches: a process pool for large ones ---------------------------------------------------------

_Task = tuple[StoredItem, list[EditorDecision]]
#: A curated item, encoded for its row, and what grouping needs of it.
Curated = tuple[CurationRecord, StoryFeatures]


def curations_of(chunks: Iterable[list[Curated]]) -> list[Curation]:
    """The curations in chunks of curated items (see curate_stream), in their order."""
    evidence: dict[tuple[str, str], Evidence] = {}
    return [curation_from_record(record, evidence) for chunk in chunks for record, _features in chunk]


def curate_stream(
    ctx: CurationContext,
    items: Sequence[StoredItem],
    decisions: Mapping[int, list[EditorDecision]],
    settings: DigestSettings,
    now: datetime | None,
    *,
    workers: int | None = None,
    pool_min_items: int | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Iterator[list[Curated]]:
    """Chunks of (curation, story features) of `items`, in their order, with editors' decisions applied.

    A batch of at least `pool_min_items` (default POOL_MIN_ITEMS) is shared among `workers` processes
    (default: one per core); each builds its matchers once and curates chunks of POOL_CHUNK items, and
    the caller gets each chunk as soon as it is done (to store it while the workers go on). Smaller
    batches stay in this process. `now` None scores every item as of its own date.
    """
    tasks = [(item, decisions.get(item.id, [])) for item in items]
    workers = workers if workers is not None else (os.cpu_count() or 1)
    pooled = workers >= 2 and len(tasks) >= (POOL_MIN_ITEMS if pool_min_items is None else pool_min_items)
    results = (
        _curated_by_pool(ctx, settings, now, tasks, workers)
        if pooled
        else (_curate_chunk_with(ctx, settings, now, tasks[i : i + POOL_CHUNK]) for i in _starts(tasks))
    )
    done = 0
    for curated in results:
        done += len(curated)
        if on_progress:
            on_progress(done, len(tasks))
        yield curated


def _starts(tasks: Sequence[_Task]) -> range:
    return range(0, len(tasks), POOL_CHUNK)


def _curated_by_pool(
    ctx: CurationContext, settings: DigestSettings, now: datetime | None, tasks: list[_Task], workers: int
) -> Iterator[list[Curated]]:
    """The chunks of `tasks` curated by a pool of `workers` processes, in order, each as it is done."""
    global _inherited
    context = _pool_context()
    with ProcessPoolExecutor(
        max_workers=min(workers, len(_starts(tasks))),
        mp_context=context,
        initializer=_init_worker,
        initargs=(ctx, settings, now),
    ) as pool:
        if context.get_start_method() == "fork":
            # A forked worker finds the tasks in the memory it shares with this process: only the
            # bounds of each chunk are sent, instead of pickling every item there and back.
            _inherited = tasks
            bounds = [(i, i + POOL_CHUNK) for i in _starts(tasks)]
            results = pool.map(_curate_inherited, bounds)
        else:
            results = pool.map(_curate_chunk, [tasks[i : i + POOL_CHUNK] for i in _starts(tasks)])
        try:
            yield from results
        finally:
            _inherited = []


def _curate_chunk_with(
    ctx: CurationContext, settings: DigestSettings, now: datetime | None, tasks: list[_Task]
) -> list[Curated]:
    with gc_paused():
        return [
            (
                curation_record(_curate(ctx, item, decisions, settings, now)),
                story_features(item.title, item.summary_text, item.published),
            )
            for item, decisions in tasks
        ]


def _pool_context() -> BaseContext:
    # Forking starts a worker at once, with the matchers already compiled; but in a process with other
    # threads (the web app, the scheduler) a lock one of them holds would stay held in the child forever,
    # so there a worker is spawned and imports and compiles what it needs.
    single = threading.active_count() == 1
    fork = single and "fork" in multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if fork else "spawn")


# What a pool worker curates with: set once per process by its initializer.
_worker: tuple[CurationContext, DigestSettings, datetime | None] | None = None


def _init_worker(ctx: CurationContext, settings: DigestSettings, now: datetime | None) -> None:
    global _worker
    _worker = (ctx, settings, now)


# The whole batch, for forked workers to read their chunks from (see curate_stream).
_inherited: list[_Task] = []


def _curate_inherited(bounds: tuple[int, int]) -> list[Curated]:
    start, end = bounds
    return _curate_chunk(_inherited[start:end])


def _curate_chunk(tasks: list[_Task]) -> list[Curated]:
    assert _worker is not None, "the pool's initializer sets the worker's matchers"
    return _curate_chunk_with(*_worker, tasks)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for a batch. Curation builds hundreds of thousands of small
    objects without cycles (reference counting frees them), and the collections their allocation
    triggers walk them over and over: a third of grouping's time at 50,000 items, and most of the time
    of reading the window's rows and building its stories before that. Nested pauses are one pause."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def regroup(
    svc: Services,
    *,
    since: datetime,
    until: datetime,
    features: Mapping[int, StoryFeatures] | None = None,
) -> tuple[int, int]:
    """Group the window's curated items into stories, keeping earlier keys and editors' merges and splits.

    `features` holds what is known already (the items just curated); the others' are computed here.
    Returns (group keys changed, stories told by several items).
    """
    known = dict(features or {})
    rows = svc.store.curations.window(since=since, until=until)
    missing = [item_id for item_id, _language, _key in rows if item_id not in known]
    for item in svc.store.items.list(ids=missing) if missing else ():
        known[item.id] = story_features(item.title, item.summary_text, item.published)
    decisions = svc.store.curations.decisions(item_id for item_id, _l, _k in rows)
    overrides = group_overrides([d for ds in decisions.values() for d in ds])
    groups = group_window(
        [StoryInput(item_id, language, known[item_id]) for item_id, language, _key in rows],
        previous={item_id: key for item_id, _language, key in rows if key},
        overrides=overrides,
    )
    changed = svc.store.curations.set_groups(groups, current={item_id: key for item_id, _l, key in rows})
    sizes: dict[str, int] = {}
    for key in groups.values():
        sizes[key] = sizes.get(key, 0) + 1
    return changed, sum(1 for n in sizes.values() if n > 1)


def group_window(
    stories: Sequence[StoryInput],
    *,
    previous: Mapping[int, str] | None = None,
    overrides: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """`group_stories` on a window's items, with the garbage collector paused (see gc_paused); a large
    window has its cross-language side confirmed in a forked process, on the other core."""
    beside = _run_in_fork if len(stories) >= PARALLEL_GROUPING_MIN and _can_fork() else None
    with gc_paused():
        return group_stories(stories, previous=previous, overrides=overrides, run_beside=beside)


#: Windows at least this large are grouped on two cores: below it a fork costs more than it saves.
PARALLEL_GROUPING_MIN = 10_000


def _can_fork() -> bool:
    return _pool_context().get_start_method() == "fork"


def _run_in_fork(work: Callable[[], Pairs]) -> Callable[[], Pairs]:
    """Start `work` in a forked child (it reads this process's memory as it was) and return a function
    that waits for its result; if the child fails, the work is done here instead."""
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_send_result, args=(work, sender), daemon=True)
    child.start()
    sender.close()

    def wait() -> Pairs:
        try:
            result: Pairs = receiver.recv()
        except (EOFError, OSError):
            result = work()
        finally:
            receiver.close()
            child.join()
        return result

    return wait


def _send_result(work: Callable[[], Pairs], sender: Connection) -> None:
    gc.disable()  # as in the parent: the child only reads, then exits
    sender.send(work())
    sender.close()


# --- listing ----------------------------------------------------------------------------------------


def list_items(
    svc: Services,
    *,
    since: datetime | None = None,
    theme: str | None = None,
    source_ids: tuple[str, ...] = (),
) -> list[dict[str, object]]:
    """Items with their themes and evidence, language, noise, group and score (newest first)."""
    found = svc.store.items.list(since=since, source_ids=source_ids)
    if theme is not None:
        with_theme = svc.store.curations.item_ids_with_theme(theme)
        found = [i for i in found if i.id in with_theme]
    curations = svc.store.curations.get_many(i.id for i in found)
    ctx = curation_context(svc.config)
    return [_item_row(ctx, item, curations.get(item.id)) for item in found]


def item_view(svc: Services, item_id: int) -> dict[str, object]:
    """One item as `list_items` shows it (after an editor's decision, say)."""
    item = svc.store.items.get(item_id)
    if item is None:
        raise NotFound(f"no item with id {item_id}")
    curation = svc.store.curations.get_many([item_id]).get(item_id)
    return _item_row(curation_context(svc.config), item, curation)


def _item_row(ctx: CurationContext, item: StoredItem, c: Curation | None) -> dict[str, object]:
    return {
        "id": item.id,
        "source": item.source_id,
        "source_name": source_of(ctx, item.source_id).name,
        "url": item.url,
        "title": item.title,
        "published": item.published.isoformat(),
        "date_missing": item.date_missing,
        "language": (c.language if c else None) or item.language,
        "themes": [t.theme for t in c.tags] if c else [],
        "evidence": {
            t.theme: {
                "score": round(t.score, 3),
                "matched": [{"term": e.term, "where": e.where} for e in t.evidence],
            }
            for t in c.tags
        }
        if c
        else {},
        "noise": c.noise if c else None,
        "members": list(c.members) if c else [],
        "trials": [{"id": t[0], "url": t[1]} for t in c.trials] if c else [],
        "group": c.group_key if c else None,
        "score": round(c.score, 4) if c else None,
        "pinned": c.pinned if c else False,
        "included": c.included if c else False,
        "curated": c is not None,
    }
