"""Small, realistic digests to render: English and Norwegian, with the awkward cases a feed brings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline.types import (
    AlsoReported,
    Branding,
    DeliverySettings,
    Digest,
    DigestEntry,
    DigestSection,
    Settings,
)

NOW = datetime(2025, 3, 13, 8, 0, tzinfo=UTC)


def entry(
    item_id: int, theme: str, title: str, *, score: float = 0.5, day: int = 12, **kw: object
) -> DigestEntry:
    values: dict[str, object] = {
        "url": f"https://members.example.org/news/{item_id}",
        "blurb": f"Blurb of item {item_id}: what happened, who did it and why it matters to the cluster.",
        "source_name": "Nykode Therapeutics",
        "published": datetime(2025, 3, day, 10, 30, tzinfo=UTC),
    }
    values.update(kw)
    return DigestEntry(item_id=item_id, theme=theme, title=title, score=score, **values)  # type: ignore[arg-type]


def english_digest() -> Digest:
    io = DigestSection("immuno-oncology", "Immuno-oncology", (
        entry(1, "immuno-oncology", "Cancer vaccine enters phase II trial", score=0.9,
              image_url="https://cdn.example.org/img/vaccine.jpg", image_alt="Vials of the vaccine candidate",
              also_reported=(AlsoReported("Oslo University Hospital", "https://ous.example.no/news/77"),
                             AlsoReported("Inven2", "https://inven2.example.com/a"))),
        entry(2, "immuno-oncology", "Checkpoint inhibitor data presented at AACR", score=0.7),
    ))
    pm = DigestSection("precision-medicine", "Precision medicine", (
        entry(3, "precision-medicine", "New biomarker panel for lung cancer", score=0.6,
              image_url="https://cdn.example.org/img/panel.png"),
    ))
    return Digest(
        id=7, status="approved",
        period_start=datetime(2025, 3, 6, tzinfo=UTC), period_end=datetime(2025, 3, 13, tzinfo=UTC),
        language="en", subject="Oslo Cancer Cluster news digest, 13 March 2025",
        intro="A busy week for the cluster.\n\nTwo trials started and a new member joined.",
        sections=(io, pm),
        submissions=(entry(10, "funding", "Start-up closes seed round", score=0.4,
                           source_name="Ultimovacs"),),
        events=(entry(20, "events", "Oslo Cancer Cluster Innovation Day", score=0.3, source_name="OCC"),),
        created_at=NOW - timedelta(days=1),
        approved_at=NOW,
    )


def norwegian_digest() -> Digest:
    d = english_digest()
    return replace(
        d, id=8, language="no", subject="Nyhetsbrev 13. mars 2025", intro="En travel uke i klyngen.",
        sections=(DigestSection("immuno-oncology", "Immunonkologi", (
            entry(31, "immuno-oncology", "Kreftvaksine går inn i fase II", score=0.9),
        )),),
        submissions=(), events=(),
    )


def big_digest(n: int = 40, blurb_len: int = 900) -> Digest:
    """A digest of `n` items in four sections, each with a long blurb and a thumbnail."""
    themes = ["immuno-oncology", "precision-medicine", "clinical-trials", "diagnostics"]
    sections = []
    for k, theme in enumerate(themes):
        entries = tuple(
            entry(100 + k * 100 + i, theme, f"Item {i} of {theme}: a headline of realistic length here",
                  score=round(1.0 - (i * 4 + k) / (n * 1.5), 3),
                  blurb=("Long blurb text. " * (blurb_len // 17))[:blurb_len],
                  image_url=f"https://cdn.example.org/img/{theme}-{i}.jpg", image_alt=f"Picture {i}")
            for i in range(n // len(themes))
        )
        sections.append(DigestSection(theme, theme.replace("-", " ").capitalize(), entries))
    return replace(english_digest(), id=9, sections=tuple(sections), submissions=(), events=())


def settings(**delivery: object) -> Settings:
    return Settings(
        public_url="https://news.example.org",
        branding=Branding(logo_url=""),
        delivery=DeliverySettings(**delivery),  # type: ignore[arg-type]
    )
