"""Ranking: how high an item goes in its section.

score = relevance x recency x source weight x member bonus (+ PIN_BONUS when pinned), where

- relevance grows with the best tag's score but saturates (a title match and three summary matches are
  not four times as relevant as one title match), with a small bonus for a second and third theme;
- recency halves every `recency_half_life_days` (DigestSettings); a future date counts as now;
- the source's weight comes from config; an item from a member's own source gets MEMBER_BONUS.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from pipeline.types import DigestSettings, Tag

MEMBER_BONUS = 1.25
PIN_BONUS = 1000.0  # above any unpinned score, so pinned items lead their section in pin order of score
# A best-tag score of this size gives about 63 % of full relevance (one title match is 2.0).
RELEVANCE_SCALE = 3.0
EXTRA_THEME_BONUS = 0.1


def relevance(tags: Sequence[Tag]) -> float:
    """0..~1.2: the saturating strength of the best theme, plus a little per further theme (two at most)."""
    if not tags:
        return 0.0
    best = max(t.score for t in tags)
    return 1.0 - math.exp(-best / RELEVANCE_SCALE) + EXTRA_THEME_BONUS * min(len(tags) - 1, 2)


def recency(published: datetime, now: datetime, half_life_days: float) -> float:
    age_days = max(0.0, (now - published).total_seconds() / 86400.0)
    if half_life_days <= 0:
        return 1.0
    return float(0.5 ** (age_days / half_life_days))


def score_item(
    tags: Sequence[Tag],
    published: datetime,
    *,
    now: datetime,
    settings: DigestSettings,
    source_weight: float = 1.0,
    member_source: bool = False,
    pinned: bool = False,
) -> float:
    """The rank score of one item; higher first. Pure: `now` is passed in."""
    value = relevance(tags) * recency(published, now, settings.recency_half_life_days) * source_weight
    if member_source:
        value *= MEMBER_BONUS
    if pinned:
        value += PIN_BONUS
    return round(value, 6)
