"""The store on a real SQLite file: schema by migration, dedup at ingest, UTC round trips."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from pipeline.errors import DatabaseNotReady
from pipeline.store import Store
from pipeline.types import CacheInfo, ParsedItem, SourceState

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def item(n: int, **kw: object) -> ParsedItem:
    base = ParsedItem(
        guid=f"guid-{n}",
        url=f"https://example.org/news/{n}?utm_source=x",
        canonical_url=f"https://example.org/news/{n}",
        title=f"Title {n}",
        summary_html=f"<p>Summary {n}</p>",
        summary_text=f"Summary {n}",
        published=NOW - timedelta(days=n),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


@pytest.fixture
def store(tmp_path):
    s = Store.open(f"sqlite:///{tmp_path}/p.db", require_schema=False)
    s.upgrade()
    yield s
    s.close()


def test_init_is_idempotent_and_sqlite_uses_wal_and_foreign_keys(tmp_path) -> None:
    s = Store.open(f"sqlite:///{tmp_path}/p.db", require_schema=False)
    before, after = s.upgrade()
    assert before is None and after
    assert s.upgrade() == (after, after)
    with s.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    s.close()


def test_a_database_without_schema_is_refused_with_the_fix(tmp_path) -> None:
    with pytest.raises(DatabaseNotReady, match="run `python run.py init`"):
        Store.open(f"sqlite:///{tmp_path}/empty.db")


def test_ingest_adds_new_items_once(store: Store) -> None:
    with store.transaction() as conn:
        first = store.items.ingest(conn, "alpha", [item(1), item(2)], NOW)
    with store.transaction() as conn:
        again = store.items.ingest(conn, "alpha", [item(1), item(2)], NOW + timedelta(hours=1))
    assert (first.new, again.new, again.unchanged) == (2, 0, 2)
    stored = store.items.list()
    assert [i.canonical_url for i in stored] == ["https://example.org/news/1", "https://example.org/news/2"]
    assert stored[0].published == NOW - timedelta(days=1)
    assert stored[0].published.tzinfo is UTC


def test_same_guid_with_changed_title_updates_and_keeps_first_seen(store: Store) -> None:
    with store.transaction() as conn:
        store.items.ingest(conn, "alpha", [item(1)], NOW)
    later = NOW + timedelta(hours=5)
    with store.transaction() as conn:
        result = store.items.ingest(conn, "alpha", [item(1, title="Title 1 (corrected)")], later)
    assert (result.new, result.updated) == (0, 1)
    (stored,) = store.items.list()
    assert stored.title == "Title 1 (corrected)"
    assert stored.first_seen == NOW


def test_same_canonical_url_from_another_source_is_not_stored_twice(store: Store) -> None:
    with store.transaction() as conn:
        store.items.ingest(conn, "alpha", [item(1)], NOW)
    with store.transaction() as conn:
        result = store.items.ingest(
            conn, "beta", [item(1, guid="beta-1", url="https://EXAMPLE.org/news/1#top")], NOW
        )
    assert (result.new, result.duplicates) == (0, 1)
    assert store.items.count() == 1


def test_duplicates_inside_one_batch_are_stored_once(store: Store) -> None:
    with store.transaction() as conn:
        result = store.items.ingest(conn, "alpha", [item(1), item(1, guid="other")], NOW)
    assert (result.new, result.duplicates) == (1, 1)


def test_an_item_moving_to_a_url_keeps_it_from_a_new_entry_in_the_same_batch(store: Store) -> None:
    with store.transaction() as conn:
        store.items.ingest(conn, "alpha", [item(1)], NOW)
    moved = "https://example.org/news/moved"
    with store.transaction() as conn:
        result = store.items.ingest(
            conn,
            "alpha",
            [item(1, url=moved, canonical_url=moved, title="Moved"), item(2, url=moved, canonical_url=moved)],
            NOW,
        )
    assert (result.new, result.updated, result.duplicates) == (0, 1, 1)
    (stored,) = store.items.list()
    assert (stored.guid, stored.canonical_url, stored.title) == ("guid-1", moved, "Moved")


def test_source_state_round_trip(store: Store) -> None:
    state = SourceState(
        source_id="alpha",
        cache=CacheInfo(etag='"v1"', last_modified="Mon, 23 Nov 2026 09:00:00 GMT"),
        last_success=NOW,
        failures=0,
        next_due=NOW + timedelta(hours=1),
        warnings=("bozo: x",),
    )
    store.sources.save(state)
    store.sources.save(replace(state, failures=2, last_error="alpha: HTTP 500"))
    got = store.sources.get("alpha")
    assert got.cache.etag == '"v1"' and got.failures == 2 and got.warnings == ("bozo: x",)
    assert got.next_due == NOW + timedelta(hours=1)
    assert store.sources.get("unknown") == SourceState(source_id="unknown")


def test_source_states_saved_together_in_the_callers_transaction(store: Store) -> None:
    first = SourceState(source_id="alpha", failures=1, last_error="alpha: HTTP 500", warnings=("w",))
    store.sources.save(first)
    with store.transaction() as conn:
        store.sources.save_many(
            [
                replace(first, failures=0, last_error=None, last_success=NOW),
                SourceState(source_id="beta", next_due=NOW),
                SourceState(source_id="beta", next_due=NOW + timedelta(hours=2)),  # the last one wins
            ],
            conn,
        )
    states = store.sources.all()
    assert set(states) == {"alpha", "beta"}
    assert states["alpha"].failures == 0 and states["alpha"].last_error is None
    assert states["alpha"].last_success == NOW and states["alpha"].warnings == ("w",)
    assert states["beta"].next_due == NOW + timedelta(hours=2)
    store.sources.save_many([])  # nothing to save: no statement, no error


def test_migrations_create_exactly_the_schema_the_code_uses(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from pipeline.store.schema import metadata

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
