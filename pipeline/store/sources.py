"""Sources' fetch state: validators, health and the next due time."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select

from pipeline.store.db import upsert
from pipeline.store.schema import source_state
from pipeline.types import CacheInfo, SourceState


class SourceStates:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def all(self) -> dict[str, SourceState]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(source_state)).mappings().all()
        return {r["source_id"]: _to_state(r) for r in rows}

    def get(self, source_id: str) -> SourceState:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(source_state).where(source_state.c.source_id == source_id))
                .mappings()
                .first()
            )
        return _to_state(row) if row else SourceState(source_id=source_id)

    def save(self, state: SourceState, conn: Any = None) -> None:
        """Insert or replace one source's state (inside `conn`'s transaction when given)."""
        self.save_many([state], conn)

    def save_many(self, states: Iterable[SourceState], conn: Any = None) -> None:
        """Insert or replace these sources' states in one statement (inside `conn`'s transaction when
        given). A source named twice keeps the last state given for it."""
        rows = list({state.source_id: _to_row(state) for state in states}.values())
        if not rows:
            return
        if conn is None:
            with self._engine.begin() as own:
                own.execute(upsert(source_state, own.dialect.name), rows)
        else:
            conn.execute(upsert(source_state, conn.dialect.name), rows)


def _to_state(row: Any) -> SourceState:
    return SourceState(
        source_id=row["source_id"],
        feed_url=row["feed_url"],
        cache=CacheInfo(etag=row["etag"], last_modified=row["last_modified"]),
        last_attempt=row["last_attempt"],
        last_success=row["last_success"],
        last_error_kind=row["last_error_kind"],
        last_error=row["last_error"],
        failures=row["failures"] or 0,
        next_due=row["next_due"],
        warnings=tuple(json.loads(row["warnings"] or "[]")),
    )


def _to_row(state: SourceState) -> dict[str, Any]:
    return {
        "source_id": state.source_id,
        "feed_url": state.feed_url,
        "etag": state.cache.etag,
        "last_modified": state.cache.last_modified,
        "last_attempt": state.last_attempt,
        "last_success": state.last_success,
        "last_error_kind": state.last_error_kind,
        "last_error": state.last_error,
        "failures": state.failures,
        "next_due": state.next_due,
        "warnings": json.dumps(list(state.warnings), ensure_ascii=False),
    }
