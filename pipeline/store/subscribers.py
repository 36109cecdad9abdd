"""Subscribers, their consent and status, and the hashed suppression list."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update

from pipeline.errors import NotFound
from pipeline.store.db import chunks, new_id
from pipeline.store.schema import deliveries, subscribers, suppressions
from pipeline.types import Subscriber

#: A subscriber in one of these states never gets mail again, and an import never re-activates them.
FINAL_STATES = ("unsubscribed", "bounced", "complained")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    return hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SubscriberRecord:
    """A subscriber with the consent facts that the GDPR export shows."""

    subscriber: Subscriber
    consent_at: datetime | None
    consent_source: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AddOutcome:
    subscriber: Subscriber | None
    action: str  # added | updated | unchanged | refused


class Subscribers:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    # --- reading ------------------------------------------------------------------------------------

    def get(self, subscriber_id: int) -> Subscriber:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).mappings().first()
            )
        if row is None:
            raise NotFound(f"no subscriber with id {subscriber_id}")
        return _to_subscriber(row)

    def find(self, email: str) -> Subscriber | None:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(subscribers).where(subscribers.c.email == normalise_email(email)))
                .mappings()
                .first()
            )
        return _to_subscriber(row) if row else None

    def record(self, email: str) -> SubscriberRecord | None:
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(subscribers).where(subscribers.c.email == normalise_email(email)))
                .mappings()
                .first()
            )
        if row is None:
            return None
        return SubscriberRecord(
            _to_subscriber(row),
            row["consent_at"],
            row["consent_source"],
            row["created_at"],
            row["updated_at"],
        )

    def iter_all(self, *, status: str | None = None, batch: int = 1000) -> Iterator[Subscriber]:
        """Every subscriber in id order, fetched in batches (the list may be large)."""
        last = 0
        while True:
            q = select(subscribers).where(subscribers.c.id > last).order_by(subscribers.c.id).limit(batch)
            if status is not None:
                q = q.where(subscribers.c.status == status)
            with self._engine.connect() as conn:
                rows = conn.execute(q).mappings().all()
            if not rows:
                return
            for row in rows:
                yield _to_subscriber(row)
            last = rows[-1]["id"]

    def counts(self) -> dict[str, int]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(subscribers.c.status, func.count()).group_by(subscribers.c.status))
            return {r[0]: int(r[1]) for r in rows}

    def is_suppressed(self, email: str) -> bool:
        with self._engine.connect() as conn:
            return (
                conn.execute(
                    select(suppressions.c.email_hash).where(suppressions.c.email_hash == email_hash(email))
                ).first()
                is not None
            )

    # --- writing ------------------------------------------------------------------------------------

    def add(
        self,
        email: str,
        *,
        name: str = "",
        language: str = "en",
        themes: Iterable[str] | None = None,
        status: str = "active",
        source: str = "cli",
        now: datetime,
        update_existing: bool = False,
    ) -> AddOutcome:
        """Add one subscriber. Someone who unsubscribed, bounced, complained or was erased is refused."""
        email = normalise_email(email)
        with self._engine.begin() as conn:
            return self._add(conn, email, name, language, themes, status, source, now, update_existing)

    def add_many(
        self, rows: Iterable[dict[str, Any]], *, status: str, source: str, now: datetime
    ) -> list[AddOutcome]:
        """Add many subscribers in one transaction; existing ones are left as they are, suppressed and
        unsubscribed ones refused. Looked up and inserted in bulk: an import of 100,000 takes seconds."""
        wanted = [dict(r, email=normalise_email(r["email"])) for r in rows]
        outcomes: list[AddOutcome | None] = [None] * len(wanted)
        with self._engine.begin() as conn:
            existing: dict[str, Subscriber] = {}
            suppressed: set[str] = set()
            for chunk in chunks([r["email"] for r in wanted]):
                for row in conn.execute(select(subscribers).where(subscribers.c.email.in_(chunk))).mappings():
                    existing[row["email"]] = _to_subscriber(row)
                hashes = [email_hash(e) for e in chunk]
                suppressed.update(
                    r[0]
                    for r in conn.execute(
                        select(suppressions.c.email_hash).where(suppressions.c.email_hash.in_(hashes))
                    )
                )
            inserts: list[dict[str, Any]] = []
            positions: dict[str, int] = {}
            for n, r in enumerate(wanted):
                email = r["email"]
                current = existing.get(email)
                if email_hash(email) in suppressed or (
                    current is not None and current.status in FINAL_STATES
                ):
                    outcomes[n] = AddOutcome(current, "refused")
                elif current is not None or email in positions:
                    outcomes[n] = AddOutcome(current, "unchanged")
                else:
                    themes = r.get("themes")
                    positions[email] = n
                    inserts.append(
                        {
                            "email": email,
                            "name": r.get("name", ""),
                            "language": r.get("language", "en"),
                            "themes": json.dumps(sorted(themes)) if themes else None,
                            "status": status,
                            "consent_at": now if status == "active" else None,
                            "consent_source": source,
                            "created_at": now,
                            "updated_at": now,
                        }
                    )
            if inserts:
                conn.execute(insert(subscribers), inserts)
                for chunk in chunks([r["email"] for r in inserts]):
                    for row in conn.execute(
                        select(subscribers).where(subscribers.c.email.in_(chunk))
                    ).mappings():
                        outcomes[positions[row["email"]]] = AddOutcome(_to_subscriber(row), "added")
        return [o if o is not None else AddOutcome(None, "unchanged") for o in outcomes]

    def _add(
        self,
        conn: Any,
        email: str,
        name: str,
        language: str,
        themes: Iterable[str] | None,
        status: str,
        source: str,
        now: datetime,
        update_existing: bool,
    ) -> AddOutcome:
        suppressed = conn.execute(
            select(suppressions.c.email_hash).where(suppressions.c.email_hash == email_hash(email))
        ).first()
        if suppressed:
            return AddOutcome(None, "refused")
        row = conn.execute(select(subscribers).where(subscribers.c.email == email)).mappings().first()
        theme_json = json.dumps(sorted(themes)) if themes else None
        if row is not None:
            current = _to_subscriber(row)
            if current.status in FINAL_STATES:
                return AddOutcome(current, "refused")
            if not update_existing:
                return AddOutcome(current, "unchanged")
            conn.execute(
                update(subscribers)
                .where(subscribers.c.id == row["id"])
                .values(name=name or row["name"], language=language, themes=theme_json, updated_at=now)
            )
            return AddOutcome(self._get(conn, row["id"]), "updated")
        sid = new_id(
            conn.execute(
                insert(subscribers).values(
                    email=email,
                    name=name,
                    language=language,
                    themes=theme_json,
                    status=status,
                    consent_at=now if status == "active" else None,
                    consent_source=source,
                    created_at=now,
                    updated_at=now,
                )
            )
        )
        return AddOutcome(self._get(conn, sid), "added")

    def _get(self, conn: Any, sid: int) -> Subscriber:
        return _to_subscriber(
            conn.execute(select(subscribers).where(subscribers.c.id == sid)).mappings().one()
        )

    def set_status(
        self,
        subscriber_id: int,
        status: str,
        now: datetime,
        *,
        only_from: Iterable[str] | None = None,
        consent_source: str | None = None,
    ) -> bool:
        """Move a subscriber to `status`; returns whether anything changed (so callers stay idempotent).
        Becoming active records the consent time, and where it was given when `consent_source` says."""
        q = update(subscribers).where(subscribers.c.id == subscriber_id).where(subscribers.c.status != status)
        if only_from is not None:
            q = q.where(subscribers.c.status.in_(list(only_from)))
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if status == "active":
            values["consent_at"] = now
            if consent_source:
                values["consent_source"] = consent_source
        with self._engine.begin() as conn:
            return conn.execute(q.values(**values)).rowcount > 0

    def set_status_by_email(self, email: str, status: str, now: datetime) -> bool:
        sub = self.find(email)
        return sub is not None and self.set_status(sub.id, status, now)

    def update_preferences(
        self, subscriber_id: int, *, language: str, themes: Iterable[str] | None, now: datetime
    ) -> None:
        theme_list = sorted(themes) if themes is not None else None
        with self._engine.begin() as conn:
            conn.execute(
                update(subscribers)
                .where(subscribers.c.id == subscriber_id)
                .values(
                    language=language, themes=json.dumps(theme_list) if theme_list else None, updated_at=now
                )
            )

    def remove(self, email: str, now: datetime) -> bool:
        """Unsubscribe (the record stays, so nobody re-adds them by mistake)."""
        return self.set_status_by_email(email, "unsubscribed", now)

    def erase(self, email: str, now: datetime, reason: str = "erased") -> bool:
        """GDPR erasure: delete the personal data, keep only a hash so a later import cannot add them back."""
        email = normalise_email(email)
        with self._engine.begin() as conn:
            row = conn.execute(select(subscribers.c.id).where(subscribers.c.email == email)).first()
            if (
                conn.execute(
                    select(suppressions).where(suppressions.c.email_hash == email_hash(email))
                ).first()
                is None
            ):
                conn.execute(
                    insert(suppressions).values(email_hash=email_hash(email), reason=reason, created_at=now)
                )
            if row is None:
                return False
            conn.execute(
                update(deliveries).where(deliveries.c.subscriber_id == row.id).values(subscriber_id=None)
            )
            conn.execute(delete(subscribers).where(subscribers.c.id == row.id))
        return True

    def delivery_history(self, subscriber_id: int) -> list[dict[str, Any]]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.digest_id, deliveries.c.state, deliveries.c.updated_at)
                .where(deliveries.c.subscriber_id == subscriber_id)
                .order_by(deliveries.c.digest_id)
            ).mappings()
            return [
                {"digest_id": r["digest_id"], "state": r["state"], "at": r["updated_at"].isoformat()}
                for r in rows
            ]


def _to_subscriber(row: Any) -> Subscriber:
    themes = json.loads(row["themes"]) if row["themes"] else None
    return Subscriber(
        id=row["id"],
        email=row["email"],
        name=row["name"] or "",
        language=row["language"],
        themes=frozenset(themes) if themes else None,
        status=row["status"],
    )
