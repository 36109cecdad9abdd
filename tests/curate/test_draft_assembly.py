"""Assembling a draft: section order, caps, one entry per story, noise and embargo, fair coverage."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline.curate.curation import apply_editor_decisions
from pipeline.curate.draft import DraftCandidate, assemble_draft, blurb
from pipeline.types import (
    AlsoReported,
    Curation,
    DigestSettings,
    EditorDecision,
    Evidence,
    Source,
    StoredItem,
    Tag,
    Theme,
    ThemeTerms,
)

NOW = datetime(2024, 9, 12, 9, 0, tzinfo=UTC)
THEMES = tuple(
    Theme(id=tid, label=label, label_no=label_no, terms=ThemeTerms(en=(tid,)))
    for tid, label, label_no in [
        ("immuno-oncology", "Immuno-oncology", "Immunonkologi"),
        ("clinical-trials", "Clinical trials", "Kliniske studier"),
        ("events", "Events", "Arrangementer"),
        ("policy", "Policy", "Helsepolitikk"),
    ]
)
SOURCES = {
    "nykode": Source(
        id="nykode", name="Nykode Therapeutics", kind="feed", url="https://n.example", member=True
    ),
    "ultimovacs": Source(
        id="ultimovacs", name="Ultimovacs", kind="feed", url="https://u.example", member=True
    ),
    "occ": Source(id="occ", name="Oslo Cancer Cluster", kind="page", url="https://o.example", member=True),
    "dagens-medisin": Source(
        id="dagens-medisin", name="Dagens Medisin", kind="feed", url="https://d.example"
    ),
}


def candidate(
    item_id: int,
    source: str,
    themes: dict[str, float],
    *,
    hours_old: float = 1.0,
    group: str | None = None,
    noise: str | None = None,
    included: bool = False,
    pinned: bool = False,
    summary: str = "Summary.",
    members: tuple[str, ...] = (),
    embargo: datetime | None = None,
) -> DraftCandidate:
    published = NOW - timedelta(hours=hours_old)
    item = StoredItem(
        id=item_id,
        source_id=source,
        guid=str(item_id),
        url=f"https://example.org/{item_id}",
        canonical_url=f"https://example.org/{item_id}",
        title=f"Story {item_id}",
        summary_html="",
        summary_text=summary,
        published=published,
        first_seen=published,
    )
    tags = tuple(Tag(theme=t, score=s, evidence=(Evidence(t, "title"),)) for t, s in themes.items())
    curation = Curation(
        item_id=item_id,
        language="en",
        tags=tags,
        noise=noise,
        members=members,
        group_key=group,
        included=included,
        pinned=pinned,
    )
    return DraftCandidate(item=item, curation=curation, source=SOURCES[source], embargo_until=embargo)


def entry_ids(sections: tuple, theme: str) -> list[int]:  # type: ignore[type-arg]
    return [e.item_id for s in sections if s.theme == theme for e in s.entries]


def test_sections_in_configured_order_best_first_empty_left_out() -> None:
    settings = DigestSettings(section_order=("policy", "clinical-trials", "immuno-oncology", "events"))
    sections = assemble_draft(
        [
            candidate(1, "dagens-medisin", {"clinical-trials": 2.0}, hours_old=48),
            candidate(2, "dagens-medisin", {"clinical-trials": 2.0}, hours_old=2),
            candidate(3, "dagens-medisin", {"policy": 1.0}),
            candidate(4, "dagens-medisin", {"immuno-oncology": 4.0}),
        ],
        themes=THEMES,
        settings=settings,
        now=NOW,
    )
    assert [s.theme for s in sections] == ["policy", "clinical-trials", "immuno-oncology"]
    assert entry_ids(sections, "clinical-trials") == [2, 1]  # the fresher story first
    assert sections[0].label == "Policy"


def test_default_order_is_the_themes_order_and_norwegian_labels() -> None:
    sections = assemble_draft(
        [
            candidate(1, "dagens-medisin", {"events": 1.0}),
            candidate(2, "dagens-medisin", {"immuno-oncology": 1.0}),
        ],
        themes=THEMES,
        settings=DigestSettings(),
        now=NOW,
        language="no",
    )
    assert [(s.theme, s.label) for s in sections] == [
        ("immuno-oncology", "Immunonkologi"),
        ("events", "Arrangementer"),
    ]


def test_each_story_once_under_its_primary_theme() -> None:
    sections = assemble_draft(
        [candidate(1, "dagens-medisin", {"immuno-oncology": 2.0, "clinical-trials": 4.0})],
        themes=THEMES,
        settings=DigestSettings(),
        now=NOW,
    )
    assert [(s.theme, [e.item_id for e in s.entries]) for s in sections] == [("clinical-trials", [1])]
    assert sections[0].entries[0].theme == "clinical-trials"


def test_at_most_max_per_section() -> None:
    candidates = [candidate(i, "dagens-medisin", {"policy": 1.0}, hours_old=i) for i in range(1, 6)]
    sections = assemble_draft(candidates, themes=THEMES, settings=DigestSettings(max_per_section=3), now=NOW)
    assert entry_ids(sections, "policy") == [1, 2, 3]


def test_group_gives_one_entry_from_the_members_own_source_with_also_reported() -> None:
    sections = assemble_draft(
        [
            candidate(
                1,
                "occ",
                {"clinical-trials": 2.0},
                group="g1",
                members=("nykode",),
                summary="A longer rewrite " * 5,
            ),
            candidate(2, "nykode", {"clinical-trials": 2.0}, group="g1", members=("nykode",), hours_old=3),
            candidate(3, "dagens-medisin", {"clinical-trials": 2.0}, group="g1", members=("nykode",)),
        ],
        themes=THEMES,
        settings=DigestSettings(),
        now=NOW,
    )
    (entry,) = sections[0].entries
    assert entry.item_id == 2 and entry.source_name == "Nykode Therapeutics" and entry.member_id == "nykode"
    assert entry.also_reported == (
        AlsoReported("Oslo Cancer Cluster", "https://example.org/1"),
        AlsoReported("Dagens Medisin", "https://example.org/3"),
    )


def test_noise_and_embargo_left_out_unless_an_editor_included_them() -> None:
    sections = assemble_draft(
        [
            candidate(1, "dagens-medisin", {"policy": 1.0}, noise="Job advert"),
            candidate(2, "dagens-medisin", {"policy": 1.0}, noise="Job advert", included=True),
            candidate(3, "dagens-medisin", {"policy": 1.0}, embargo=NOW + timedelta(hours=2)),
            candidate(4, "dagens-medisin", {"policy": 1.0}, embargo=NOW + timedelta(hours=2), included=True),
            candidate(5, "dagens-medisin", {"policy": 1.0}, embargo=NOW - timedelta(hours=2)),
            candidate(6, "dagens-medisin", {}),  # no theme: no section
        ],
        themes=THEMES,
        settings=DigestSettings(),
        now=NOW,
    )
    assert sorted(entry_ids(sections, "policy")) == [2, 4, 5]
    embargoed = next(e for e in sections[0].entries if e.item_id == 4)
    assert embargoed.embargo_until == NOW + timedelta(hours=2)


def test_at_most_max_per_member_across_sections_but_pins_stay() -> None:
    candidates = [
        candidate(i, "nykode", {"immuno-oncology" if i % 2 else "clinical-trials": 2.0}, hours_old=i)
        for i in range(1, 6)
    ]
    candidates.append(candidate(9, "nykode", {"policy": 1.0}, hours_old=100, pinned=True))
    candidates.append(candidate(10, "ultimovacs", {"policy": 1.0}, hours_old=50))
    sections = assemble_draft(candidates, themes=THEMES, settings=DigestSettings(max_per_member=2), now=NOW)
    nykode = [e.item_id for s in sections for e in s.entries if e.member_id == "nykode"]
    # The pinned story always goes in, and counts: one more of the member's best fills its quota of two.
    assert sorted(nykode) == [1, 9]
    assert entry_ids(sections, "policy") == [9, 10]  # the pinned story leads its section


def test_blurb_cuts_at_a_word_boundary() -> None:
    assert blurb("Short summary.") == "Short summary."
    text = "word " * 100
    cut = blurb(text, limit=30)
    assert cut.endswith("…") and len(cut) <= 31 and "wor…" not in cut


def decided(c: DraftCandidate, action: str, value: str | None = None, *, minute: int = 0) -> DraftCandidate:
    """The candidate with one more editor's decision, stored and applied as the job does."""
    decision = EditorDecision(c.item.id, action, value, "anna@example.org", NOW + timedelta(minutes=minute))  # type: ignore[arg-type]
    decisions = (*c.decisions, decision)
    return replace(c, decisions=decisions, curation=apply_editor_decisions(c.curation, decisions))


def story(group: str, first: int, themes: dict[str, float] | None = None) -> list[DraftCandidate]:
    """The member's own item (it leads the story) and a re-publication by the cluster."""
    themes = themes or {"policy": 2.0}
    lead = candidate(first, "nykode", themes, group=group, members=("nykode",))
    return [lead, candidate(first + 1, "occ", themes, group=group, members=("nykode",))]


def sections_of(*stories: list[DraftCandidate]) -> list[tuple[str, list[int]]]:
    candidates = [c for s in stories for c in s]
    sections = assemble_draft(candidates, themes=THEMES, settings=DigestSettings(), now=NOW)
    return [(s.theme, [e.item_id for e in s.entries]) for s in sections]


def lead_score(candidates: list[DraftCandidate]) -> float:
    return assemble_draft(candidates, themes=THEMES, settings=DigestSettings(), now=NOW)[0].entries[0].score


def test_decisions_about_any_item_of_a_story_apply_to_the_story() -> None:
    # An editor adds a theme, or removes one, on the re-publication they were looking at.
    lead, copy = story("g1", 1, {"clinical-trials": 2.0, "events": 1.0})
    assert sections_of([lead, decided(copy, "add_theme", "policy")]) == [("policy", [1])]
    assert sections_of([lead, decided(copy, "remove_theme", "clinical-trials")]) == [("events", [1])]
    # Automatic themes of a re-publication do not move the story.
    assert sections_of([lead, candidate(2, "occ", {"policy": 5.0}, group="g1")]) == [("clinical-trials", [1])]
    # The later decision wins, whichever item it was made on: a pin on the copy, an unpin on the lead.
    unpinned_last = lead_score([decided(lead, "unpin", minute=5), decided(copy, "pin", minute=1)])
    pinned_last = lead_score([decided(lead, "unpin", minute=1), decided(copy, "pin", minute=5)])
    assert unpinned_last == lead_score([lead, copy]) < pinned_last


def test_a_story_is_judged_whole_noise_embargo_and_the_editors_word() -> None:
    def noise(c: DraftCandidate) -> DraftCandidate:
        return replace(c, curation=replace(c.curation, noise="Generic quarterly report"))

    marked, embargoed, included, plain, report, flagged = (story(f"g{n}", n) for n in range(1, 12, 2))
    kept = sections_of(
        [marked[0], decided(marked[1], "mark_noise", "Covered last week")],  # an editor marked the copy
        [embargoed[0], replace(embargoed[1], embargo_until=NOW + timedelta(hours=2))],  # the copy knows
        [included[0], decided(noise(included[1]), "include")],
        plain,
        # Both copies of a quarterly report are noise; the editor said "not noise" on one of them.
        [decided(noise(report[0]), "unmark_noise"), noise(report[1])],
        [flagged[0], noise(flagged[1])],  # only the re-publication was flagged: the story is still noise
    )
    assert kept == [("policy", [5, 7, 9])]  # each led by the member's own item
