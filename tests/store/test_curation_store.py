"""Curations on a real SQLite file: tags with evidence round-trip, theme filters, migration 0004."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from pipeline.store import Store
from pipeline.store.curation import curation_from_record, curation_record
from pipeline.store.db import _alembic_config
from pipeline.types import Curation, Evidence, ParsedItem, Tag

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def parsed(n: int) -> ParsedItem:
    return ParsedItem(
        guid=f"g{n}",
        url=f"https://example.org/{n}",
        canonical_url=f"https://example.org/{n}",
        title=f"Title {n}",
        summary_html="",
        summary_text=f"Summary {n}",
        published=NOW - timedelta(days=n),
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path}/p.db", require_schema=False)
    s.upgrade()
    with s.transaction() as conn:
        s.items.ingest(conn, "alpha", [parsed(n) for n in (1, 2, 3)], NOW)
    yield s
    s.close()


def ids(store: Store) -> list[int]:
    return sorted(i.id for i in store.items.list())


TRICKY = Curation(
    item_id=0,
    language="no",
    tags=(
        Tag(
            theme="immuno-oncology",
            score=4.5,
            evidence=(
                Evidence(term='kreft"immun\\terapi', where="title"),
                Evidence(term="kari@example.org", where="editor"),
            ),
        ),
        Tag(theme="clinical_trials", score=1.0, evidence=(Evidence(term="NCT01234567", where="pattern"),)),
    ),
    noise=None,
    members=("nykode",),
    score=0.731,
    pinned=True,
    trials=(("NCT01234567", "https://clinicaltrials.gov/study/NCT01234567"),),
)


def test_a_curation_round_trips_with_its_evidence_in_order(store: Store) -> None:
    first, second, _third = ids(store)
    saved = [
        (Curation(item_id=first, language="no", tags=TRICKY.tags, members=TRICKY.members, score=0.731), "h1"),
        (Curation(item_id=second, language="en", tags=()), "h2"),
    ]
    store.curations.save(saved, NOW)
    got = store.curations.get_many([first, second])
    assert got[first] == saved[0][0]
    assert got[second].tags == ()
    # The record the workers send decodes to the same curation.
    assert curation_from_record(curation_record(TRICKY), {}) == TRICKY


def test_saving_again_replaces_and_the_theme_filter_takes_ids_literally(store: Store) -> None:
    first, second, third = ids(store)
    both = [(Curation(item_id=i, language="en", tags=TRICKY.tags), "h") for i in (first, second)]
    store.curations.save(both, NOW)
    store.curations.save([(Curation(item_id=second, language="en", tags=TRICKY.tags[:1]), "h")], NOW)
    other = Tag(theme="clinicalXtrials", score=1.0, evidence=())
    store.curations.save([(Curation(item_id=third, language="en", tags=(other,)), "h")], NOW)
    assert store.curations.item_ids_with_theme("clinical_trials") == {first}  # "_" is no wildcard
    assert store.curations.item_ids_with_theme("immuno-oncology") == {first, second}
    assert store.curations.item_ids_with_theme("immuno") == set()  # whole theme ids only
    assert store.curations.item_ids_with_theme("%") == set()


def test_migration_0004_moves_tag_rows_into_their_curation_and_back(tmp_path: Path) -> None:
    s = Store.open(f"sqlite:///{tmp_path}/old.db", require_schema=False)
    cfg = _alembic_config()
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    with s.transaction() as conn:
        s.items.ingest(conn, "alpha", [parsed(1)], NOW)
        item_id = conn.execute(text("SELECT id FROM items")).scalar_one()
        conn.execute(
            text(
                "INSERT INTO curations (item_id, language, members, trials, score, primary_theme, pinned, "
                "included, curated_hash, curated_at) VALUES (:i, 'en', '[]', '[]', 0.5, 'policy', 0, 0, 'h', "
                "'2026-11-30 09:00:00.000000')"
            ),
            {"i": item_id},
        )
        conn.execute(
            text("INSERT INTO tags (item_id, theme, score, evidence, by_editor) VALUES (:i, :t, :s, :e, 0)"),
            [
                {"i": item_id, "t": "diagnostics", "s": 1.0, "e": '[{"term": "screen", "where": "summary"}]'},
                {"i": item_id, "t": "policy", "s": 2.0, "e": '[{"term": "kreftstrategi", "where": "title"}]'},
            ],
        )
    s.upgrade()
    got = s.curations.get_many([item_id])[item_id]
    assert [(t.theme, t.score, t.evidence) for t in got.tags] == [
        ("policy", 2.0, (Evidence(term="kreftstrategi", where="title"),)),
        ("diagnostics", 1.0, (Evidence(term="screen", where="summary"),)),
    ]
    assert s.curations.item_ids_with_theme("diagnostics") == {item_id}
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
        rows = conn.execute(text("SELECT theme, score, evidence FROM tags ORDER BY score DESC")).all()
    assert [(r[0], r[1]) for r in rows] == [("policy", 2.0), ("diagnostics", 1.0)]
    assert "kreftstrategi" in rows[0][2]
    s.close()


def test_records_write_the_json_that_json_dumps_writes_even_for_look_alike_values() -> None:
    import json

    # A members tuple equal to an Evidence tuple must not borrow the evidence's cached JSON.
    evidence = Evidence(term="nykode", where="title")
    tagged = Curation(item_id=1, language="en", tags=(Tag(theme="x", score=1.0, evidence=(evidence,)),))
    named = Curation(item_id=2, language="en", tags=(), members=("nykode", "title"))
    first, second = curation_record(tagged), curation_record(named)
    assert json.loads(first.tags) == [{"theme": "x", "score": 1.0, "evidence": [evidence._asdict()]}]
    assert first.tags == json.dumps(json.loads(first.tags), ensure_ascii=False)
    assert second.members == json.dumps(["nykode", "title"])
