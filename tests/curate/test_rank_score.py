"""Ranking: theme relevance, recency decay, member-source priority, source weight, pins."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.curate.rank import PIN_BONUS, score_item
from pipeline.types import DigestSettings, Evidence, Tag

NOW = datetime(2024, 9, 12, 9, 0, tzinfo=UTC)
SETTINGS = DigestSettings(recency_half_life_days=7.0)
TITLE_TAG = (Tag(theme="immuno-oncology", score=2.0, evidence=(Evidence("immunotherapy", "title"),)),)
SUMMARY_TAG = (Tag(theme="immuno-oncology", score=1.0, evidence=(Evidence("immunotherapy", "summary"),)),)


def test_stronger_theme_evidence_ranks_higher() -> None:
    assert score_item(TITLE_TAG, NOW, now=NOW, settings=SETTINGS) > score_item(
        SUMMARY_TAG, NOW, now=NOW, settings=SETTINGS
    )
    assert score_item((), NOW, now=NOW, settings=SETTINGS) == 0.0


def test_recency_halves_every_half_life() -> None:
    fresh = score_item(TITLE_TAG, NOW, now=NOW, settings=SETTINGS)
    week_old = score_item(TITLE_TAG, NOW - timedelta(days=7), now=NOW, settings=SETTINGS)
    assert abs(week_old - fresh / 2) < 1e-5
    # A date in the future (a feed's clock ahead of ours) counts as now, not as a bonus.
    assert score_item(TITLE_TAG, NOW + timedelta(days=3), now=NOW, settings=SETTINGS) == fresh


def test_member_source_and_source_weight_raise_the_score() -> None:
    base = score_item(TITLE_TAG, NOW, now=NOW, settings=SETTINGS)
    assert score_item(TITLE_TAG, NOW, now=NOW, settings=SETTINGS, member_source=True) > base
    assert score_item(TITLE_TAG, NOW, now=NOW, settings=SETTINGS, source_weight=0.5) < base


def test_pins_outrank_everything() -> None:
    pinned_old_weak = score_item(
        SUMMARY_TAG, NOW - timedelta(days=60), now=NOW, settings=SETTINGS, pinned=True
    )
    assert (
        pinned_old_weak
        > PIN_BONUS
        > score_item(TITLE_TAG, NOW, now=NOW, settings=SETTINGS, member_source=True, source_weight=3.0)
    )
