"""Assembling a digest draft from curated items: sections per theme, the best stories first.

Rules, in the order they apply:
1. Items of one group are one story: the representative (member's own source, then richest summary)
   carries the entry, the others become "also reported by".
2. A story is judged whole, so that a re-publication never carries a story kept out: it is left out
   when one of its items is under embargo at `now`, or is noise, unless an editor included one of its
   items. Editors' decisions about any of its items apply to the story, the later winning: their last
   word on noise (marked, or not noise) decides, and so do a theme added or removed, include and pin.
3. A story goes once, under its primary theme (its best tag that has a section); untagged stories
   have no section and are left out.
4. Stories are taken best score first; a section holds at most `max_per_section`; a member organisation
   gets at most `max_per_member` entries in the whole digest. Pinned stories are taken first and are never
   dropped by either cap, but they count towards both.
5. Sections follow `section_order` (or the themes' order); empty sections are left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from pipeline.curate.curation import apply_editor_decisions, member_of_source
from pipeline.curate.groups import GroupInput, choose_representative
from pipeline.curate.rank import score_item
from pipeline.types import (
    AlsoReported,
    Curation,
    DigestEntry,
    DigestSection,
    DigestSettings,
    EditorDecision,
    Language,
    Source,
    StoredItem,
    Tag,
    Theme,
)

BLURB_CHARS = 280


@dataclass(frozen=True)
class DraftCandidate:
    """One curated item offered to the draft, with its source and any embargo."""

    item: StoredItem
    curation: Curation  # editors' decisions already applied
    source: Source
    embargo_until: datetime | None = None
    #: The editors' decisions about the item (applied to `curation` already): the draft applies those of
    #: all of a story's items to the story.
    decisions: tuple[EditorDecision, ...] = ()


@dataclass(frozen=True)
class _Story:
    lead: DraftCandidate
    others: tuple[DraftCandidate, ...]
    curation: Curation  # the lead's, with the decisions about all the story's items applied
    score: float


def _eligible(story: _Story, now: datetime) -> bool:
    """Whether a story may go in a draft: see rule 2 above."""
    if story.curation.included:
        return True
    items = (story.lead, *story.others)
    if any(c.embargo_until is not None and c.embargo_until > now for c in items):
        return False
    if any(d.action in ("mark_noise", "unmark_noise") for c in items for d in c.decisions):
        return story.curation.noise is None  # an editor's last word on noise about any of its items
    return not any(c.curation.noise for c in items)


def blurb(text: str, limit: int = BLURB_CHARS) -> str:
    """The summary cut at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(",;:-")
    return cut + "…"


def _group_input(c: DraftCandidate) -> GroupInput:
    return GroupInput(
        item_id=c.item.id,
        title=c.item.title,
        summary=c.item.summary_text,
        published=c.item.published,
        language=c.curation.language,
        source_id=c.source.id,
        source_member_id=member_of_source(c.source),
        members=c.curation.members,
    )


def _stories(candidates: Sequence[DraftCandidate], settings: DigestSettings, now: datetime) -> list[_Story]:
    groups: dict[str, list[DraftCandidate]] = {}
    for c in candidates:
        groups.setdefault(c.curation.group_key or f"item-{c.item.id}", []).append(c)
    stories: list[_Story] = []
    for members in groups.values():
        lead_id = choose_representative([_group_input(c) for c in members])
        lead = next(c for c in members if c.item.id == lead_id)
        curation = _story_curation(lead, members)
        score = score_item(
            curation.tags,
            lead.item.published,
            now=now,
            settings=settings,
            source_weight=lead.source.weight,
            member_source=lead.source.member,
            pinned=curation.pinned,
        )
        others = tuple(c for c in members if c is not lead)
        stories.append(_Story(lead, others, curation, score))
    stories.sort(key=lambda s: (-s.score, -s.lead.item.published.timestamp(), s.lead.item.id))
    return stories


def _story_curation(lead: DraftCandidate, members: Sequence[DraftCandidate]) -> Curation:
    """The lead's curation with the editors' decisions about every item of the story applied, in the
    order they were made: an editor decides about the story, on whichever of its items they were looking
    at. The lead's own decisions are applied again with the others, so that the latest wins whichever
    item it was made on (applying one twice changes nothing the draft reads). The automatic themes stay
    the lead's (a re-publication may have less text)."""
    decisions = [replace(d, item_id=lead.item.id) for c in members for d in c.decisions]
    return apply_editor_decisions(lead.curation, decisions) if decisions else lead.curation


def _primary_theme(story_tags: Sequence[Tag], order: Sequence[str]) -> str | None:
    """The best tag that has a section; tags are best first, ties broken by the section order."""
    rank = {t: i for i, t in enumerate(order)}
    tags = [t for t in story_tags if t.theme in rank]
    if not tags:
        return None
    return min(tags, key=lambda t: (-t.score, rank[t.theme])).theme


def _member(c: DraftCandidate) -> str | None:
    return member_of_source(c.source) or (c.curation.members[0] if c.curation.members else None)


def _entry(story: _Story, theme: str) -> DigestEntry:
    lead = story.lead
    seen = {lead.source.name}
    also: list[AlsoReported] = []
    for other in sorted(story.others, key=lambda c: (c.item.published, c.item.id)):
        if other.source.name not in seen:
            seen.add(other.source.name)
            also.append(AlsoReported(name=other.source.name, url=other.item.url))
    return DigestEntry(
        item_id=lead.item.id,
        theme=theme,
        title=lead.item.title,
        url=lead.item.url,
        blurb=blurb(lead.item.summary_text),
        source_name=lead.source.name,
        published=lead.item.published,
        image_url=lead.item.image_url,
        also_reported=tuple(also),
        score=story.score,
        member_id=_member(lead),
        embargo_until=lead.embargo_until,
    )


def assemble_draft(
    candidates: Sequence[DraftCandidate],
    *,
    themes: Sequence[Theme],
    settings: DigestSettings,
    now: datetime,
    language: Language = "en",
) -> tuple[DigestSection, ...]:
    """The sections of a draft digest for these candidates (the period's items, chosen by the caller)."""
    order = list(settings.section_order) or [t.id for t in themes]
    labels = {t.id: t.label_in(language) for t in themes}
    entries: dict[str, list[DigestEntry]] = {theme: [] for theme in order}
    per_member: dict[str, int] = {}
    for story in _stories(candidates, settings, now):
        if not _eligible(story, now):
            continue
        theme = _primary_theme(story.curation.tags, order)
        if theme is None:
            continue
        member = _member(story.lead)
        if not story.curation.pinned:
            if len(entries[theme]) >= settings.max_per_section:
                continue
            if member is not None and per_member.get(member, 0) >= settings.max_per_member:
                continue
        entries[theme].append(_entry(story, theme))
        if member is not None:
            per_member[member] = per_member.get(member, 0) + 1
    return tuple(
        DigestSection(theme=theme, label=labels.get(theme, theme), entries=tuple(entries[theme]))
        for theme in order
        if entries[theme]
    )
