"""Curation results (themes with evidence, noise, members, groups, score) and editors' decisions."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, Table, bindparam, func, insert, or_, select, update

from pipeline.store.db import chunks, upsert
from pipeline.store.items import to_item
from pipeline.store.schema import curations, editor_decisions, items
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
        self.save_records([(curation_record(c), h) for c, h in results], now)

    def save_records(self, records: Sequence[tuple[CurationRecord, str]], now: datetime) -> None:
        """`save` for curations already encoded by `curation_record` (the curation workers encode them,
        so that this process only writes)."""
        if not records:
            return
        rows = [(*record, content_hash, now) for record, content_hash in records]
        with self._engine.begin() as conn:
            # One executemany, compiled once: per-chunk statements cost more than the rows themselves.
            _execute_many(conn, upsert(curations, conn.dialect.name), curations, _SAVED_COLUMNS, rows)

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

    def set_groups(self, groups: dict[int, str], current: Mapping[int, str | None] | None = None) -> int:
        """Write group keys that changed; returns how many did. `current` may give the keys stored now
        (as the caller read them), to spare reading them again."""
        if current is None:
            current = self.groups(groups)
        changed = [(k, i) for i, k in groups.items() if current.get(i) != k]
        if changed:
            with self._engine.begin() as conn:
                statement = update(curations).where(curations.c.item_id == bindparam("_id"))
                _execute_many(conn, statement, curations, ("group_key", "_id"), changed)
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
        evidence: dict[tuple[str, str], Evidence] = {}
        with self._engine.connect() as conn:
            for chunk in chunks(ids):
                for row in conn.execute(select(curations).where(curations.c.item_id.in_(chunk))).mappings():
                    out[row["item_id"]] = _to_curation(row, evidence)
        return out

    def item_ids_with_theme(self, theme: str) -> set[int]:
        q = select(curations.c.item_id).where(curations.c.themes.contains(f" {theme} ", autoescape=True))
        with self._engine.connect() as conn:
            return {r[0] for r in conn.execute(q)}

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

    def last_decision_id(self) -> int:
        """The id of the newest decision (0 if none): decisions made later have larger ids."""
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.max(editor_decisions.c.id))).scalar() or 0)

    def items_decided_after(self, decision_id: int) -> set[int]:
        """The items with a decision newer than `decision_id` (see last_decision_id)."""
        q = select(editor_decisions.c.item_id).where(editor_decisions.c.id > decision_id).distinct()
        with self._engine.connect() as conn:
            return {r[0] for r in conn.execute(q)}

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


def _execute_many(
    conn: Connection, statement: Any, table: Table, keys: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Execute `statement` for rows of values in `keys` order, with one executemany on the driver's cursor.

    SQLAlchemy's per-row parameter handling costs more than SQLite's own work here; the statement is
    compiled once for the connection's dialect and each value passes through its column type's bind
    processor (keys that are no column, such as a WHERE's bindparam, pass as they are). Column defaults
    are not applied: rows give every column.
    """
    compiled = statement.compile(dialect=conn.dialect, column_keys=[k for k in keys if k in table.c])
    # Column by column: one bind processor applied over a whole column, rows rebuilt by zip (in C).
    columns: dict[str, Sequence[Any]] = {}
    for key, values in zip(keys, zip(*rows, strict=True), strict=True):
        processor = table.c[key].type.bind_processor(conn.dialect) if key in table.c else None
        if processor is None:
            columns[key] = values
        elif values.count(values[0]) == len(values):  # one time or flag for every row: processed once
            columns[key] = (processor(values[0]),) * len(values)
        else:
            columns[key] = list(map(processor, values))
    if compiled.positional:
        ordered = [columns[name] for name in compiled.positiontup or ()]
        conn.exec_driver_sql(str(compiled), list(zip(*ordered, strict=True)))
    else:
        named = [dict(zip(keys, v, strict=True)) for v in zip(*columns.values(), strict=True)]
        conn.exec_driver_sql(str(compiled), named)


# --- a curation as the values of its row -------------------------------------------------------------

class CurationRecord(NamedTuple):
    """A curation as the values of its row, in column order (`save_records` adds the content hash and
    the time). What the curation workers send back: plain values, and nothing left to encode here."""

    item_id: int
    language: str | None
    noise: str | None
    members: str  # JSON
    trials: str  # JSON
    group_key: str | None
    score: float
    primary_theme: str | None
    pinned: bool
    included: bool
    tags: str  # JSON, best first
    themes: str  # " id id "


_SAVED_COLUMNS = (*CurationRecord._fields, "curated_hash", "curated_at")


class _JsonCache(dict[Any, str]):
    """Values written as JSON once per process: a batch repeats a few hundred (term, where) pairs of
    evidence, a few themes and a few sets of members. Bounded: a cleared cache only costs the writing
    again. One cache per kind of value: an Evidence equals the plain tuple of its fields."""

    MAX = 100_000

    def __init__(self, encode: Callable[[Any], Any] = lambda value: value) -> None:
        super().__init__()
        self._encode = encode

    def __missing__(self, key: Any) -> str:
        if len(self) >= self.MAX:
            self.clear()
        text = self[key] = json.dumps(self._encode(key), ensure_ascii=False)
        return text


_evidence_json = _JsonCache(Evidence._asdict)
_theme_json = _JsonCache()
_members_json = _JsonCache(list)


def _tag_json(t: Tag) -> str:
    # As json.dumps({"theme": ..., "score": ..., "evidence": [...]}) writes it.
    evidence = ", ".join(map(_evidence_json.__getitem__, t.evidence))
    return f'{{"theme": {_theme_json[t.theme]}, "score": {float(t.score)!r}, "evidence": [{evidence}]}}'


def curation_record(c: Curation) -> CurationRecord:
    """The row values of a curation. Pure: the curation workers call it."""
    return CurationRecord(
        c.item_id,
        c.language,
        c.noise,
        _members_json[c.members] if c.members else "[]",
        json.dumps([list(t) for t in c.trials]) if c.trials else "[]",
        c.group_key,
        c.score,
        c.tags[0].theme if c.tags else None,
        c.pinned,
        c.included,
        "[" + ", ".join(_tag_json(t) for t in c.tags) + "]",
        " " + " ".join(t.theme for t in c.tags) + " " if c.tags else "",
    )


def curation_from_record(record: CurationRecord, evidence: dict[tuple[str, str], Evidence]) -> Curation:
    """The curation `curation_record` encoded; `evidence` shares one Evidence per (term, where)."""
    return _to_curation(record._asdict(), evidence)


def _evidence(term: str, where: str, cache: dict[tuple[str, str], Evidence]) -> Evidence:
    found = cache.get((term, where))
    if found is None:
        found = cache[(term, where)] = Evidence(term=term, where=where)  # type: ignore[arg-type]
    return found


def _to_curation(row: Any, evidence: dict[tuple[str, str], Evidence]) -> Curation:
    tags = tuple(
        Tag(
            theme=t["theme"],
            score=t["score"],
            evidence=tuple(_evidence(e["term"], e["where"], evidence) for e in t["evidence"]),
        )
        for t in json.loads(row["tags"])
    )
    return Curation(
        item_id=row["item_id"],
        language=row["language"],
        tags=tags,
        noise=row["noise"],
        members=tuple(json.loads(row["members"])),
        group_key=row["group_key"],
        score=row["score"],
        pinned=bool(row["pinned"]),
        included=bool(row["included"]),
        trials=tuple(tuple(t) for t in json.loads(row["trials"])),  # type: ignore[misc]
    )
