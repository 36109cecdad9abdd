"""Curation results (themes with evidence, noise, members, groups, score) and editors' decisions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, delete, insert, or_, select, update

from pipeline.store.db import chunks
from pipeline.store.items import to_item
from pipeline.store.schema import curations, editor_decisions, items, tags
from pipeline.types import Curation, EditorDecision, Evidence, StoredItem, Tag


class Curations:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def to_curate(self, *, everything: bool = False) -> list[StoredItem]:
        """Items never curated, or changed since (their content hash moved on); all with `everything`."""
        q = select(items).outerjoin(curations, curations.c.item_id == items.c.id).order_by(items.c.id)
        if not everything:
            q = q.where(or_(curations.c.item_id.is_(None), curations.c.curated_hash != items.c.content_hash))
        with self._engine.connect() as conn:
            return [to_item(r) for r in conn.execute(q).mappings()]

    def save(self, results: Sequence[tuple[Curation, str]], now: datetime) -> None:
        """Store (curation, content hash it was made from) pairs, replacing earlier results of those items."""
        if not results:
            return
        ids = [c.item_id for c, _ in results]
        curation_rows = [_curation_row(c, h, now) for c, h in results]
        evidence_json: dict[tuple[str, str], str] = {}
        tag_rows = [_tag_row(c.item_id, t, evidence_json) for c, _ in results for t in c.tags]
        with self._engine.begin() as conn:
            # Deletes go in chunks (a statement takes a bounded number of ids); inserts are one
            # executemany each, compiled once: per-chunk statements cost more than the rows themselves.
            for chunk in chunks(ids):
                conn.execute(delete(tags).where(tags.c.item_id.in_(chunk)))
                conn.execute(delete(curations).where(curations.c.item_id.in_(chunk)))
            _insert_many(conn, curations, curation_rows)
            _insert_many(conn, tags, tag_rows)

    def window(self, *, since: datetime, until: datetime) -> list[tuple[int, str | None, str | None]]:
        """(item id, language, group key) of the curated items published in [since, until), by id."""
        q = (
            select(curations.c.item_id, curations.c.language, curations.c.group_key)
            .join(items, items.c.id == curations.c.item_id)
            .where(items.c.published >= since, items.c.published < until)
            .order_by(curations.c.item_id)
        )
        with self._engine.connect() as conn:
            return [(r[0], r[1], r[2]) for r in conn.execute(q)]

    def set_groups(self, groups: dict[int, str]) -> int:
        """Write group keys that changed; returns how many did."""
        current = self.groups(groups)
        changed = [(k, i) for i, k in groups.items() if current.get(i) != k]
        if changed:
            with self._engine.begin() as conn:
                # One executemany on the driver's cursor: through SQLAlchemy each row cost more than
                # SQLite's update itself (a first curation of 50,000 items sets 50,000 keys).
                statement = update(curations).where(curations.c.item_id == bindparam("_id"))
                compiled = statement.compile(dialect=conn.dialect, column_keys=["group_key"])
                order = {"group_key": 0, "_id": 1}
                names = list(compiled.positiontup or ()) if compiled.positional else []
                if compiled.positional:
                    rows: list[Any] = [tuple(row[order[n]] for n in names) for row in changed]
                else:
                    rows = [{"group_key": k, "_id": i} for k, i in changed]
                conn.exec_driver_sql(str(compiled), rows)
        return len(changed)

    def groups(self, item_ids: Iterable[int] | None = None) -> dict[int, str]:
        q = select(curations.c.item_id, curations.c.group_key).where(curations.c.group_key.is_not(None))
        with self._engine.connect() as conn:
            if item_ids is None:
                return {r[0]: r[1] for r in conn.execute(q)}
            out: dict[int, str] = {}
            for chunk in chunks(list(item_ids)):
                out.update({r[0]: r[1] for r in conn.execute(q.where(curations.c.item_id.in_(chunk)))})
            return out

    def group_members(self, keys: Iterable[str]) -> dict[str, list[int]]:
        """Group key -> the ids of the items in it."""
        out: dict[str, list[int]] = {}
        with self._engine.connect() as conn:
            for chunk in chunks(list(keys)):
                rows = conn.execute(
                    select(curations.c.group_key, curations.c.item_id)
                    .where(curations.c.group_key.in_(chunk))
                    .order_by(curations.c.item_id)
                )
                for key, item_id in rows:
                    out.setdefault(key, []).append(item_id)
        return out

    def get_many(self, item_ids: Iterable[int]) -> dict[int, Curation]:
        ids = list(item_ids)
        out: dict[int, Curation] = {}
        with self._engine.connect() as conn:
            for chunk in chunks(ids):
                tag_rows = (
                    conn.execute(
                        select(tags)
                        .where(tags.c.item_id.in_(chunk))
                        .order_by(tags.c.item_id, tags.c.score.desc())
                    )
                    .mappings()
                    .all()
                )
                by_item: dict[int, list[Tag]] = {}
                for t in tag_rows:
                    by_item.setdefault(t["item_id"], []).append(_to_tag(t))
                for row in conn.execute(select(curations).where(curations.c.item_id.in_(chunk))).mappings():
                    out[row["item_id"]] = _to_curation(row, tuple(by_item.get(row["item_id"], ())))
        return out

    def item_ids_with_theme(self, theme: str) -> set[int]:
        with self._engine.connect() as conn:
            return {r[0] for r in conn.execute(select(tags.c.item_id).where(tags.c.theme == theme))}

    # --- editors' decisions -------------------------------------------------------------------------

    def add_decision(self, decision: EditorDecision, now: datetime) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                insert(editor_decisions).values(
                    item_id=decision.item_id,
                    action=decision.action,
                    value=decision.value,
                    editor=decision.editor,
                    decided_at=decision.at or now,
                )
            )

    def decisions(self, item_ids: Iterable[int] | None = None) -> dict[int, list[EditorDecision]]:
        q = select(editor_decisions).order_by(editor_decisions.c.id)
        out: dict[int, list[EditorDecision]] = {}
        with self._engine.connect() as conn:
            slices = [None] if item_ids is None else list(chunks(list(item_ids)))
            for chunk in slices:
                query = q if chunk is None else q.where(editor_decisions.c.item_id.in_(chunk))
                for r in conn.execute(query).mappings():
                    out.setdefault(r["item_id"], []).append(
                        EditorDecision(
                            item_id=r["item_id"],
                            action=r["action"],
                            value=r["value"],
                            editor=r["editor"],
                            at=r["decided_at"],
                        )
                    )
        return out


def _insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert rows (dicts with the same keys) with one executemany on the driver's cursor.

    SQLAlchemy's per-row parameter handling costs more than SQLite's insert itself; here the statement
    is compiled once for the connection's dialect and each value passes through its column type's bind
    processor, as SQLAlchemy would do. Column defaults are not applied: rows give every column.
    """
    if not rows:
        return
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=keys)
    # Column by column: one bind processor applied over a whole column, rows rebuilt by zip (in C).
    columns: dict[str, list[Any]] = {}
    for key in keys:
        values = [row[key] for row in rows]
        processor = table.c[key].type.bind_processor(conn.dialect)
        columns[key] = list(map(processor, values)) if processor else values
    if compiled.positional:
        ordered = [columns[name] for name in compiled.positiontup or ()]
        conn.exec_driver_sql(str(compiled), list(zip(*ordered, strict=True)))
    else:
        named = [dict(zip(keys, v, strict=True)) for v in zip(*columns.values(), strict=True)]
        conn.exec_driver_sql(str(compiled), named)


def _curation_row(c: Curation, content_hash: str, now: datetime) -> dict[str, Any]:
    return {
        "item_id": c.item_id,
        "language": c.language,
        "noise": c.noise,
        "members": json.dumps(list(c.members)),
        "trials": json.dumps([list(t) for t in c.trials]),
        "group_key": c.group_key,
        "score": c.score,
        "primary_theme": c.tags[0].theme if c.tags else None,
        "pinned": c.pinned,
        "included": c.included,
        "curated_hash": content_hash,
        "curated_at": now,
    }


def _tag_row(item_id: int, t: Tag, evidence_json: dict[tuple[str, str], str]) -> dict[str, Any]:
    """`evidence_json` caches each (term, where) as JSON: a batch repeats a few hundred of them."""
    parts: list[str] = []
    by_editor = False
    for e in t.evidence:
        key = (e.term, e.where)
        text = evidence_json.get(key)
        if text is None:
            text = evidence_json[key] = json.dumps({"term": e.term, "where": e.where}, ensure_ascii=False)
        parts.append(text)
        by_editor = by_editor or e.where == "editor"
    return {
        "item_id": item_id,
        "theme": t.theme,
        "score": t.score,
        "evidence": "[" + ", ".join(parts) + "]",  # as json.dumps of the list writes it
        "by_editor": by_editor,
    }


def _to_tag(row: Any) -> Tag:
    evidence = tuple(Evidence(term=e["term"], where=e["where"]) for e in json.loads(row["evidence"]))
    return Tag(theme=row["theme"], score=row["score"], evidence=evidence)


def _to_curation(row: Any, item_tags: tuple[Tag, ...]) -> Curation:
    return Curation(
        item_id=row["item_id"],
        language=row["language"],
        tags=item_tags,
        noise=row["noise"],
        members=tuple(json.loads(row["members"])),
        group_key=row["group_key"],
        score=row["score"],
        pinned=bool(row["pinned"]),
        included=bool(row["included"]),
        trials=tuple(tuple(t) for t in json.loads(row["trials"])),  # type: ignore[misc]
    )
