"""Items: ingest with dedup (one item per canonical URL, the same guid updates), and queries."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, insert, select, update

from pipeline.store.db import chunks
from pipeline.store.schema import items
from pipeline.types import ParsedItem, StoredItem

# Built once: ingest runs per source, and constructing a statement (and its cache key) each time cost more
# than executing it. Expanding parameters take the IN lists.
_BY_GUID = select(items.c.guid, items.c.id, items.c.content_hash, items.c.canonical_url).where(
    and_(items.c.source_id == bindparam("source_id"), items.c.guid.in_(bindparam("guids", expanding=True)))
)
_TAKEN_URLS = select(items.c.canonical_url).where(
    items.c.canonical_url.in_(bindparam("urls", expanding=True))
)
_INSERT = insert(items)
_UPDATE = update(items).where(items.c.id == bindparam("_id"))


@dataclass(frozen=True)
class IngestResult:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # another source (or guid) already holds the canonical URL


def content_hash(item: ParsedItem) -> str:
    h = hashlib.sha256()
    for part in (item.title, item.summary_html, item.url, item.image_url or ""):
        h.update(part.encode("utf-8", "replace"))
        h.update(b"\x00")
    return h.hexdigest()


class Items:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def known_urls(self, canonical_urls: Sequence[str]) -> set[str]:
        """Which of these canonical URLs are stored already (by any source)."""
        found: set[str] = set()
        with self._engine.connect() as conn:
            for chunk in chunks(list(canonical_urls)):
                rows = conn.execute(select(items.c.canonical_url).where(items.c.canonical_url.in_(chunk)))
                found.update(r[0] for r in rows)
        return found

    def ingest(self, conn: Any, source_id: str, parsed: Sequence[ParsedItem], now: datetime) -> IngestResult:
        """Store a source's items in the caller's transaction.

        The same (source, guid) updates the stored item when its content changed, keeping first_seen;
        a canonical URL another entry already holds is a duplicate and is not stored again.
        """
        if not parsed:
            return IngestResult()
        by_guid = self._existing_by_guid(conn, source_id, [p.guid for p in parsed])
        taken = self._existing_urls(conn, [p.canonical_url for p in parsed])
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        unchanged = duplicates = 0
        seen_in_batch: set[str] = set()
        for p in parsed:
            digest = content_hash(p)
            existing = by_guid.get(p.guid)
            if existing is not None:
                item_id, old_hash, old_url = existing
                if old_hash == digest:
                    unchanged += 1
                elif p.canonical_url != old_url and (
                    p.canonical_url in taken or p.canonical_url in seen_in_batch
                ):
                    duplicates += 1
                else:
                    updates.append({"_id": item_id, "updated_at": now, **_values(p, digest)})
                    by_guid[p.guid] = (item_id, digest, p.canonical_url)
                    seen_in_batch.add(p.canonical_url)  # taken from now on, by the item that moved there
                continue
            if p.canonical_url in taken or p.canonical_url in seen_in_batch:
                duplicates += 1
                continue
            inserts.append(
                {
                    "source_id": source_id,
                    "guid": p.guid,
                    "first_seen": now,
                    "updated_at": now,
                    "origin": "collected",
                    **_values(p, digest),
                }
            )
            seen_in_batch.add(p.canonical_url)
            by_guid[p.guid] = (-1, digest, p.canonical_url)
        # one statement, many parameter sets: building a SQL expression per row costs more than the write
        if inserts:
            conn.execute(_INSERT, inserts)
        if updates:
            conn.execute(_UPDATE, updates)
        return IngestResult(
            new=len(inserts), updated=len(updates), unchanged=unchanged, duplicates=duplicates
        )

    def _existing_by_guid(
        self, conn: Any, source_id: str, guids: list[str]
    ) -> dict[str, tuple[int, str, str]]:
        out: dict[str, tuple[int, str, str]] = {}
        for chunk in chunks(guids):
            rows = conn.execute(_BY_GUID, {"source_id": source_id, "guids": chunk})
            out.update({r.guid: (r.id, r.content_hash, r.canonical_url) for r in rows})
        return out

    def _existing_urls(self, conn: Any, urls: list[str]) -> set[str]:
        found: set[str] = set()
        for chunk in chunks(urls):
            found.update(r[0] for r in conn.execute(_TAKEN_URLS, {"urls": chunk}))
        return found

    def get(self, item_id: int) -> StoredItem | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(items).where(items.c.id == item_id)).mappings().first()
        return to_item(row) if row else None

    def list(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        source_ids: Iterable[str] = (),
        ids: Iterable[int] | None = None,
    ) -> list[StoredItem]:
        q = select(items).order_by(items.c.published.desc(), items.c.id)
        if since is not None:
            q = q.where(items.c.published >= since)
        if until is not None:
            q = q.where(items.c.published < until)
        source_ids = list(source_ids)
        if source_ids:
            q = q.where(items.c.source_id.in_(source_ids))
        if ids is not None:
            wanted = list(ids)
            out: list[StoredItem] = []
            with self._engine.connect() as conn:
                for chunk in chunks(wanted):
                    out.extend(to_item(r) for r in conn.execute(q.where(items.c.id.in_(chunk))).mappings())
            return out
        with self._engine.connect() as conn:
            return [to_item(r) for r in conn.execute(q).mappings()]

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(items)).scalar_one())

    def counts_by_source(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(items.c.source_id, func.count()).group_by(items.c.source_id))
            return {r[0]: int(r[1]) for r in rows}


def _values(p: ParsedItem, digest: str) -> dict[str, Any]:
    return {
        "url": p.url,
        "canonical_url": p.canonical_url,
        "title": p.title,
        "summary_html": p.summary_html,
        "summary_text": p.summary_text,
        "image_url": p.image_url,
        "author": p.author,
        "language": p.language,
        "published": p.published,
        "date_missing": p.date_missing,
        "content_hash": digest,
    }


def to_item(row: Any) -> StoredItem:
    return StoredItem(
        id=row["id"],
        source_id=row["source_id"],
        guid=row["guid"],
        url=row["url"],
        canonical_url=row["canonical_url"],
        title=row["title"],
        summary_html=row["summary_html"],
        summary_text=row["summary_text"],
        published=row["published"],
        first_seen=row["first_seen"],
        date_missing=bool(row["date_missing"]),
        image_url=row["image_url"],
        author=row["author"],
        language=row["language"],
        origin=row["origin"],
        content_hash=row["content_hash"],
    )
