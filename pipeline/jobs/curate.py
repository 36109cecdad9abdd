"""Use cases of curation: tag, flag and group new or changed items; list items with their evidence."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from pipeline.curate.curation import apply_editor_decisions, curate_item, group_overrides
from pipeline.curate.groups import GroupInput, group_items
from pipeline.curate.members import MemberMatcher, member_matcher
from pipeline.curate.noise import NoiseMatcher, noise_matcher
from pipeline.curate.themes import ThemeMatcher, noise_rules_from_mapping
from pipeline.jobs.services import Services
from pipeline.language import detect_language
from pipeline.types import Config, Curation, EditorDecision, Source, StoredItem

#: Grouping compares an item with the items published this many days around it: a story is re-told
#: within days, and a bounded window keeps grouping linear in the number of items.
GROUP_WINDOW = timedelta(days=30)


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
    now = svc.clock()
    ctx = curation_context(svc.config)
    pending = svc.store.curations.to_curate(everything=everything)
    decisions = svc.store.curations.decisions([i.id for i in pending])
    report = CurateReport()
    results: list[tuple[Curation, str]] = []
    for n, item in enumerate(pending, 1):
        curation = curate_one(ctx, item, decisions.get(item.id, []), svc.config, now)
        results.append((curation, item.content_hash))
        report.tagged += bool(curation.tags)
        report.noise += curation.noise is not None
        if on_progress and n % 500 == 0:
            on_progress(n, len(pending))
    svc.store.curations.save(results, now)
    report.curated = len(results)
    if pending:
        newest = max(i.published for i in pending)
        oldest = min(i.published for i in pending)
        report.groups_changed, report.stories_told_by_several = regroup(
            svc, since=oldest - GROUP_WINDOW, until=newest + GROUP_WINDOW
        )
    return report


def curate_one(
    ctx: CurationContext, item: StoredItem, decisions: list[EditorDecision], config: Config, now: datetime
) -> Curation:
    automatic = curate_item(
        item,
        matcher=ctx.themes,
        noise_rules=ctx.noise,
        members=ctx.members,
        source=source_of(ctx, item.source_id),
        detect_language=detect_language,
        settings=config.settings.digest,
        now=now,
    )
    return apply_editor_decisions(automatic, decisions)


def regroup(svc: Services, *, since: datetime, until: datetime) -> tuple[int, int]:
    """Group the window's items into stories, keeping earlier keys and editors' merges and splits."""
    ctx = curation_context(svc.config)
    window = svc.store.items.list(since=since, until=until)
    curations = svc.store.curations.get_many(i.id for i in window)
    window = [i for i in window if i.id in curations]
    inputs = [
        GroupInput(
            item_id=i.id,
            title=i.title,
            summary=i.summary_text,
            published=i.published,
            language=curations[i.id].language,
            source_id=i.source_id,
            source_member_id=_member_id(source_of(ctx, i.source_id)),
            members=curations[i.id].members,
        )
        for i in window
    ]
    decisions = svc.store.curations.decisions(i.id for i in window)
    overrides = group_overrides([d for ds in decisions.values() for d in ds])
    groups = group_items(
        inputs, previous={i: c.group_key for i, c in curations.items() if c.group_key}, overrides=overrides
    )
    changed = svc.store.curations.set_groups(groups)
    sizes: dict[str, int] = {}
    for key in groups.values():
        sizes[key] = sizes.get(key, 0) + 1
    return changed, sum(1 for n in sizes.values() if n > 1)


def _member_id(source: Source) -> str | None:
    return (source.member_id or source.id) if source.member else None


def decide(svc: Services, decision: EditorDecision) -> Curation:
    """Store an editor's decision and re-curate the item at once, so the decision shows everywhere."""
    now = svc.clock()
    svc.store.curations.add_decision(replace(decision, at=decision.at or now), now)
    item = svc.store.items.get(decision.item_id)
    if item is None:
        from pipeline.errors import NotFound

        raise NotFound(f"no item with id {decision.item_id}")
    ctx = curation_context(svc.config)
    curation = curate_one(
        ctx, item, svc.store.curations.decisions([item.id]).get(item.id, []), svc.config, now
    )
    previous = svc.store.curations.groups([item.id]).get(item.id)
    curation = replace(curation, group_key=curation.group_key or previous)
    svc.store.curations.save([(curation, item.content_hash)], now)
    if decision.action in ("merge", "split"):
        regroup(svc, since=item.published - GROUP_WINDOW, until=item.published + GROUP_WINDOW)
    return curation


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
    out: list[dict[str, object]] = []
    for item in found:
        c = curations.get(item.id)
        out.append(
            {
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
                "curated": c is not None,
            }
        )
    return out
