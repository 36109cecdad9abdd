"""Digests and their entries. Status changes go through one function that rejects illegal moves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from pipeline.errors import IllegalTransition, NotFound
from pipeline.store.db import new_id
from pipeline.store.schema import digest_entries, digests
from pipeline.types import DigestStatus

#: Every legal status move of a digest. Approved digests can be reopened until sending starts.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"approved", "cancelled"}),
    "approved": frozenset({"draft", "sending", "cancelled"}),
    "sending": frozenset({"sent"}),
    "sent": frozenset(),
    "cancelled": frozenset(),
}


@dataclass(frozen=True)
class DigestRecord:
    id: int
    status: DigestStatus
    period_start: datetime
    period_end: datetime
    language: str
    subject: str
    intro: str
    created_at: datetime
    updated_at: datetime
    approved_at: datetime | None
    approved_by: str | None
    scheduled_at: datetime | None
    sent_at: datetime | None


@dataclass(frozen=True)
class EntryRecord:
    item_id: int
    section: str
    position: int
    included: bool = True
    title_override: str | None = None
    blurb_override: str | None = None


class Digests:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def get(self, digest_id: int) -> DigestRecord:
        with self._engine.connect() as conn:
            row = conn.execute(select(digests).where(digests.c.id == digest_id)).mappings().first()
        if row is None:
            raise NotFound(f"no digest with id {digest_id} (run `python run.py draft` to make one)")
        return DigestRecord(**dict(row))

    def entries(self, digest_id: int) -> list[EntryRecord]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(digest_entries)
                .where(digest_entries.c.digest_id == digest_id)
                .order_by(digest_entries.c.section, digest_entries.c.position)
            ).mappings()
            return [
                EntryRecord(
                    item_id=r["item_id"],
                    section=r["section"],
                    position=r["position"],
                    included=r["included"],
                    title_override=r["title_override"],
                    blurb_override=r["blurb_override"],
                )
                for r in rows
            ]

    def latest(self, *, statuses: Sequence[str] | None = None) -> DigestRecord | None:
        q = select(digests).order_by(digests.c.period_end.desc(), digests.c.id.desc()).limit(1)
        if statuses is not None:
            q = q.where(digests.c.status.in_(list(statuses)))
        with self._engine.connect() as conn:
            row = conn.execute(q).mappings().first()
        return DigestRecord(**dict(row)) if row else None

    def recent(self, *, statuses: Sequence[str] | None = None, limit: int = 50) -> list[DigestRecord]:
        q = select(digests).order_by(digests.c.id.desc()).limit(limit)
        if statuses is not None:
            q = q.where(digests.c.status.in_(list(statuses)))
        with self._engine.connect() as conn:
            return [DigestRecord(**dict(r)) for r in conn.execute(q).mappings()]

    def open_draft(self, period_start: datetime) -> DigestRecord | None:
        with self._engine.connect() as conn:
            row = (
                conn.execute(
                    select(digests)
                    .where(digests.c.status == "draft", digests.c.period_start == period_start)
                    .order_by(digests.c.id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        return DigestRecord(**dict(row)) if row else None

    def save_draft(
        self,
        *,
        period_start: datetime,
        period_end: datetime,
        language: str,
        subject: str,
        entries: Sequence[EntryRecord],
        now: datetime,
    ) -> tuple[int, bool]:
        """Create the period's draft or refresh the open one; editors' edits of kept entries survive.

        Returns (digest id, created)."""
        existing = self.open_draft(period_start)
        with self._engine.begin() as conn:
            if existing is None:
                digest_id = new_id(
                    conn.execute(
                        insert(digests).values(
                            status="draft",
                            period_start=period_start,
                            period_end=period_end,
                            language=language,
                            subject=subject,
                            intro="",
                            created_at=now,
                            updated_at=now,
                        )
                    )
                )
                created = True
                kept: dict[int, Any] = {}
            else:
                digest_id, created = existing.id, False
                conn.execute(
                    update(digests)
                    .where(digests.c.id == digest_id)
                    .values(period_end=period_end, updated_at=now)
                )
                kept = {
                    r["item_id"]: r
                    for r in conn.execute(
                        select(digest_entries).where(digest_entries.c.digest_id == digest_id)
                    ).mappings()
                }
                conn.execute(delete(digest_entries).where(digest_entries.c.digest_id == digest_id))
            rows = []
            for e in entries:
                old = kept.get(e.item_id)
                rows.append(
                    {
                        "digest_id": digest_id,
                        "item_id": e.item_id,
                        "section": e.section,
                        "position": e.position,
                        "included": old["included"] if old is not None else e.included,
                        "title_override": old["title_override"] if old is not None else None,
                        "blurb_override": old["blurb_override"] if old is not None else None,
                    }
                )
            if rows:
                conn.execute(insert(digest_entries), rows)
        return digest_id, created

    def edit_entry(
        self,
        digest_id: int,
        item_id: int,
        *,
        included: bool | None = None,
        title: str | None = None,
        blurb: str | None = None,
        position: int | None = None,
    ) -> None:
        self._require_status(digest_id, ("draft",), "edit")
        values: dict[str, Any] = {}
        if included is not None:
            values["included"] = included
        if title is not None:
            values["title_override"] = title or None
        if blurb is not None:
            values["blurb_override"] = blurb or None
        if position is not None:
            values["position"] = position
        if values:
            with self._engine.begin() as conn:
                conn.execute(
                    update(digest_entries)
                    .where(digest_entries.c.digest_id == digest_id, digest_entries.c.item_id == item_id)
                    .values(**values)
                )

    def set_intro(self, digest_id: int, intro: str, now: datetime) -> None:
        self._require_status(digest_id, ("draft",), "edit")
        with self._engine.begin() as conn:
            conn.execute(update(digests).where(digests.c.id == digest_id).values(intro=intro, updated_at=now))

    def transition(
        self,
        digest_id: int,
        to: DigestStatus,
        now: datetime,
        *,
        by: str | None = None,
        scheduled_at: datetime | None = None,
    ) -> DigestRecord:
        """The one function that changes a digest's status; it refuses moves the machine does not allow."""
        current = self.get(digest_id)
        if to not in TRANSITIONS[current.status]:
            raise IllegalTransition(f"digest {digest_id} is {current.status}; it cannot become {to}")
        values: dict[str, Any] = {"status": to, "updated_at": now}
        if to == "approved":
            values.update(approved_at=now, approved_by=by, scheduled_at=scheduled_at)
        elif to == "draft":
            values.update(approved_at=None, approved_by=None, scheduled_at=None)
        elif to == "sent":
            values["sent_at"] = now
        with self._engine.begin() as conn:
            changed = conn.execute(
                update(digests)
                .where(digests.c.id == digest_id, digests.c.status == current.status)
                .values(**values)
            )
            if changed.rowcount != 1:
                raise IllegalTransition(f"digest {digest_id} changed while we looked; try again")
        return self.get(digest_id)

    def due(self, now: datetime) -> list[DigestRecord]:
        """Approved digests whose scheduled time has come (or that were approved to go at once)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(digests).where(digests.c.status.in_(("approved", "sending"))).order_by(digests.c.id)
            ).mappings()
            return [
                DigestRecord(**dict(r))
                for r in rows
                if r["status"] == "sending" or (r["scheduled_at"] is not None and r["scheduled_at"] <= now)
            ]

    def _require_status(self, digest_id: int, allowed: Sequence[str], action: str) -> None:
        current = self.get(digest_id)
        if current.status not in allowed:
            raise IllegalTransition(f"digest {digest_id} is {current.status}; only a draft can be {action}ed")
