"""Curating one item (themes, noise, members, trials, language, score) and applying editors' decisions.

Automatic curation and editors' decisions are kept apart: `curate_item` never looks at decisions, and
`apply_editor_decisions` is applied to its result every time, so re-curating (`curate --all`) can change
what the rules say but never what an editor decided.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import lru_cache

from pipeline.curate.members import MemberMatcher, member_matcher
from pipeline.curate.noise import NoiseMatcher, noise_matcher
from pipeline.curate.rank import score_item
from pipeline.curate.themes import PROBE_ENTRIES, CurationIndex, ThemeMatcher, probed
from pipeline.curate.trials import LETTER_PREFIXES, has_registry_number, trial_links
from pipeline.types import (
    Curation,
    DigestSettings,
    EditorDecision,
    Evidence,
    Language,
    NoiseRule,
    Source,
    StoredItem,
    Tag,
)

# An editor's theme outranks any automatic tag, so it becomes the item's primary theme.
EDITOR_TAG_SCORE = 10.0
EDITOR_NOISE_REASON = "Marked as noise by an editor"


def item_language(
    item: StoredItem, source: Source, detect_language: Callable[[str], Language | None] | None
) -> Language | None:
    """The feed's word first, then the source's configured language, then detection on the text."""
    if item.language:
        return item.language
    if source.language:
        return source.language
    if detect_language is not None:
        return detect_language(f"{item.title}\n{item.summary_text}")
    return None


def member_of_source(source: Source) -> str | None:
    """The member organisation a source speaks for, or None for a non-member source."""
    return (source.member_id or source.id) if source.member else None


@lru_cache(maxsize=8)
def _combined(matcher: ThemeMatcher, noise: NoiseMatcher, members: MemberMatcher) -> CurationIndex:
    return CurationIndex(matcher.entries, noise.entries, members.entries, PROBE_ENTRIES)


def curate_item(
    item: StoredItem,
    *,
    matcher: ThemeMatcher,
    noise_rules: Sequence[NoiseRule] | NoiseMatcher,
    members: Sequence[tuple[str, Sequence[str]]] | MemberMatcher,
    source: Source,
    detect_language: Callable[[str], Language | None] | None = None,
    settings: DigestSettings | None = None,
    now: datetime | None = None,
) -> Curation:
    """What the rules say about one item. `group_key` is left None: grouping looks at many items at once.

    Themes, noise rules and member names are compiled into one automaton (once per configuration), so
    the title and the summary are each scanned once. The score uses `now` (default: the item's own
    date, i.e. no recency decay); drafts re-score anyway.
    """
    noise = noise_matcher(noise_rules)
    names = member_matcher(members)
    index = _combined(matcher, noise, names)
    in_title, in_summary = index.scan_each((item.title, item.summary_text))
    title_themes, title_noise, title_members, title_probes = in_title
    summary_themes, summary_noise, summary_members, summary_probes = in_summary
    probes = (probed(title_probes), probed(summary_probes))
    trials = _trials(item.title, item.summary_text, probes[0] | probes[1])
    tags = matcher.tag_found(
        title_themes,
        summary_themes,
        item.title,
        item.summary_text,
        source_themes=source.themes,
        trials=trials,
        probes=probes,
    )
    named = names.link_found(title_members | summary_members)
    score = score_item(
        tags,
        item.published,
        now=now or item.published,
        settings=settings or DigestSettings(),
        source_weight=source.weight,
        member_source=source.member,
    )
    return Curation(
        item_id=item.id,
        language=item_language(item, source, detect_language),
        tags=tags,
        noise=noise.detect_found(
            title_noise, summary_noise, item.title, item.summary_text, relevant=bool(tags or named)
        ),
        members=named,
        score=score,
        trials=trials,
    )


def _trials(title: str, summary: str, kinds: set[str]) -> tuple[tuple[str, str], ...]:
    """The item's trial links. `kinds` are the identifiers probed by the scan (see themes.PROBES): the
    regexes run only for registries whose letters it found, or where a cheap test finds the shape of a
    registry number (most items have neither)."""
    letters = kinds.intersection(LETTER_PREFIXES)
    if not letters and not (has_registry_number(title) or has_registry_number(summary)):
        return ()
    return trial_links(f"{title}\n{summary}", prefixes=letters)


def _editor_evidence(decision: EditorDecision) -> Evidence:
    return Evidence(term=decision.editor or "editor", where="editor")


def _add_theme(tags: tuple[Tag, ...], decision: EditorDecision) -> tuple[Tag, ...]:
    theme = decision.value or ""
    if not theme:
        return tags
    existing = next((t for t in tags if t.theme == theme), None)
    evidence = (*existing.evidence, _editor_evidence(decision)) if existing else (_editor_evidence(decision),)
    score = max(existing.score if existing else 0.0, EDITOR_TAG_SCORE)
    rest = tuple(t for t in tags if t.theme != theme)
    return (Tag(theme=theme, score=score, evidence=evidence), *rest)


def _ordered(decisions: Sequence[EditorDecision]) -> list[EditorDecision]:
    # Decisions without a time keep their given order, before the timed ones (a stable sort).
    return sorted(decisions, key=lambda d: (d.at is not None, d.at or datetime.min))


def apply_editor_decisions(curation: Curation, decisions: Sequence[EditorDecision]) -> Curation:
    """The curation with this item's editor decisions applied in order (later ones win)."""
    mine = [d for d in decisions if d.item_id == curation.item_id]
    if not mine:
        return curation  # the matcher's tags are already best first
    result = curation
    for decision in _ordered(mine):
        action = decision.action
        if action == "add_theme":
            result = replace(result, tags=_add_theme(result.tags, decision))
        elif action == "remove_theme":
            result = replace(result, tags=tuple(t for t in result.tags if t.theme != decision.value))
        elif action == "mark_noise":
            result = replace(result, noise=decision.value or EDITOR_NOISE_REASON, included=False)
        elif action == "unmark_noise":
            result = replace(result, noise=None)
        elif action == "include":
            result = replace(result, included=True)
        elif action in ("pin", "unpin"):
            result = replace(result, pinned=action == "pin")
        elif action in ("merge", "split"):
            result = replace(result, group_key=_override_key(decision))
    tags = sorted(result.tags, key=lambda t: -t.score)  # stable: equal scores keep the matcher's order
    return replace(result, tags=tuple(tags))


def _override_key(decision: EditorDecision) -> str:
    if decision.action == "merge" and decision.value:
        return decision.value
    return f"split-{decision.item_id}"


def group_overrides(decisions: Sequence[EditorDecision]) -> dict[int, str]:
    """Item id -> forced group key, from editors' merges and splits (the latest per item wins)."""
    out: dict[int, str] = {}
    for decision in _ordered(decisions):
        if decision.action in ("merge", "split"):
            out[decision.item_id] = _override_key(decision)
    return out
