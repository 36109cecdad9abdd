"""Editors win: decisions are applied after automatic curation, and re-curation never undoes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.curate.curation import apply_editor_decisions, curate_item, group_overrides
from pipeline.curate.noise import NoiseMatcher
from pipeline.curate.themes import ThemeMatcher
from pipeline.types import Curation, EditorDecision, Evidence, Source, StoredItem, Tag

T0 = datetime(2024, 9, 2, 8, 0, tzinfo=UTC)
AUTO = Curation(
    item_id=7,
    language="en",
    tags=(
        Tag("clinical-trials", 3.0, (Evidence("trial", "title"),)),
        Tag("immuno-oncology", 1.0, (Evidence("PD-1", "summary"),)),
    ),
)


def decide(action: str, value: str | None = None, minutes: int = 0, item_id: int = 7) -> EditorDecision:
    return EditorDecision(
        item_id=item_id,
        action=action,
        value=value,
        editor="kari@example.org",  # type: ignore[arg-type]
        at=T0 + timedelta(minutes=minutes),
    )


def test_add_theme_becomes_primary_with_editor_evidence() -> None:
    result = apply_editor_decisions(AUTO, [decide("add_theme", "policy")])
    assert [t.theme for t in result.tags] == ["policy", "clinical-trials", "immuno-oncology"]
    assert result.tags[0].evidence == (Evidence("kari@example.org", "editor"),)


def test_add_existing_theme_keeps_its_evidence() -> None:
    result = apply_editor_decisions(AUTO, [decide("add_theme", "immuno-oncology")])
    assert result.tags[0].theme == "immuno-oncology"
    assert result.tags[0].evidence == (Evidence("PD-1", "summary"), Evidence("kari@example.org", "editor"))


def test_remove_theme_mark_and_unmark_noise_pin_and_include() -> None:
    result = apply_editor_decisions(
        AUTO,
        [
            decide("remove_theme", "clinical-trials"),
            decide("pin"),
            decide("mark_noise", "Duplicate of a partner's post"),
            decide("include"),
        ],
    )
    assert [t.theme for t in result.tags] == ["immuno-oncology"]
    assert result.noise == "Duplicate of a partner's post" and result.included and result.pinned
    unmarked = apply_editor_decisions(
        AUTO.__class__(**{**AUTO.__dict__, "noise": "Job advert"}), [decide("unmark_noise")]
    )
    assert unmarked.noise is None


def test_later_decisions_win_whatever_order_they_are_given_in() -> None:
    decisions = [
        decide("unpin", minutes=10),
        decide("pin", minutes=5),
        decide("add_theme", "events", minutes=1),
        decide("remove_theme", "events", minutes=2),
    ]
    result = apply_editor_decisions(AUTO, decisions)
    assert not result.pinned
    assert "events" not in {t.theme for t in result.tags}


def test_decisions_for_other_items_are_ignored() -> None:
    assert apply_editor_decisions(AUTO, [decide("pin", item_id=8)]) == AUTO


def test_merge_and_split_set_group_keys() -> None:
    decisions = [
        decide("merge", "g12", item_id=7),
        decide("split", item_id=9, minutes=1),
        decide("merge", "g40", item_id=7, minutes=2),
    ]
    assert group_overrides(decisions) == {7: "g40", 9: "split-9"}
    assert apply_editor_decisions(AUTO, decisions).group_key == "g40"


def test_recuration_keeps_editor_decisions(matcher: ThemeMatcher, noise: NoiseMatcher) -> None:
    item = StoredItem(
        id=7,
        source_id="nykode",
        guid="x",
        url="https://example.org/7",
        canonical_url="https://example.org/7",
        title="Job opening: Clinical Project Manager",
        summary_html="",
        summary_text="We are hiring a manager for our phase 2 immunotherapy trials.",
        published=T0,
        first_seen=T0,
    )
    source = Source(
        id="nykode", name="Nykode Therapeutics", kind="feed", url="https://example.org/feed", member=True
    )
    decisions = [decide("unmark_noise"), decide("remove_theme", "clinical-trials", minutes=1)]
    for _run in range(2):  # `curate --all` twice: the rules speak again, the editor's word stays
        auto = curate_item(item, matcher=matcher, noise_rules=noise, members=(), source=source)
        assert auto.noise is not None and "clinical-trials" in {t.theme for t in auto.tags}
        final = apply_editor_decisions(auto, decisions)
        assert final.noise is None
        assert "clinical-trials" not in {t.theme for t in final.tags}
        assert "immuno-oncology" in {t.theme for t in final.tags}
