"""Deliveries: one row per (digest, subscriber), moved through the engine's states by compare-and-set.

This implements the sending engine's `DeliveryStore` protocol (pipeline/deliver/engine.py) on SQL. The
engine owns the rules of the status machine; this module only makes each change atomic and conditional
on the row still being where the engine last saw it, so two sends can never move one row twice.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, bindparam, func, insert, select, update

from pipeline.store.db import conflict_insert
from pipeline.store.schema import deliveries, subscribers, test_sends
from pipeline.store.subscribers import Subscribers, _to_subscriber
from pipeline.types import (
    Delivery,
    DeliveryChange,
    DeliveryEvent,
    DeliveryState,
    NewDelivery,
    RecipientResult,
    Subscriber,
)


class Deliveries:
    def __init__(self, engine: Engine, subscribers_store: Subscribers) -> None:
        self._engine = engine
        self._subscribers = subscribers_store

    # --- DeliveryStore ---------------------------------------------------------------------------

    def subscribers(self) -> Iterator[Subscriber]:
        return self._subscribers.iter_all()

    def add_deliveries(self, digest_id: int, rows: Sequence[NewDelivery], at: datetime) -> int:
        if not rows:
            return 0
        values = [
            {
                "digest_id": digest_id,
                "subscriber_id": r.subscriber_id,
                "message_id": r.message_id,
                "segment": r.segment,
                "state": r.state,
                "reason": r.reason,
                "created_at": at,
                "updated_at": at,
            }
            for r in rows
        ]
        stmt = conflict_insert(deliveries, self._engine.dialect.name).on_conflict_do_nothing(
            index_elements=["digest_id", "subscriber_id"]
        )
        with self._engine.begin() as conn:
            before = self._count(conn, digest_id)
            conn.execute(stmt, values)
            return self._count(conn, digest_id) - before

    def _count(self, conn: Any, digest_id: int) -> int:
        return int(
            conn.execute(
                select(func.count()).select_from(deliveries).where(deliveries.c.digest_id == digest_id)
            ).scalar_one()
        )

    def fetch_deliveries(
        self,
        digest_id: int,
        state: DeliveryState,
        *,
        limit: int,
        after_id: int = 0,
        segment: str | None = None,
    ) -> Sequence[Delivery]:
        q = (
            select(
                deliveries,
                subscribers.c.email,
                subscribers.c.name,
                subscribers.c.language,
                subscribers.c.themes,
                subscribers.c.status,
                subscribers.c.id.label("sub_id"),
            )
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(
                deliveries.c.digest_id == digest_id, deliveries.c.state == state, deliveries.c.id > after_id
            )
            .order_by(deliveries.c.id)
            .limit(limit)
        )
        if segment is not None:
            q = q.where(deliveries.c.segment == segment)
        with self._engine.connect() as conn:
            rows = conn.execute(q).mappings().all()
        return [
            Delivery(
                id=r["id"],
                digest_id=r["digest_id"],
                subscriber=_to_subscriber(
                    {
                        "id": r["sub_id"],
                        "email": r["email"],
                        "name": r["name"],
                        "language": r["language"],
                        "themes": r["themes"],
                        "status": r["status"],
                    }
                ),
                message_id=r["message_id"],
                segment=r["segment"],
                state=r["state"],
                provider_id=r["provider_id"],
                reason=r["reason"],
            )
            for r in rows
        ]

    def segments(self, digest_id: int, state: DeliveryState) -> Sequence[str]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.segment)
                .distinct()
                .where(deliveries.c.digest_id == digest_id, deliveries.c.state == state)
            )
            return sorted(r[0] for r in rows)

    def apply_changes(self, changes: Sequence[DeliveryChange], at: datetime) -> int:
        if not changes:
            return 0
        stmt = (
            update(deliveries)
            .where(and_(deliveries.c.id == bindparam("_id"), deliveries.c.state == bindparam("_from")))
            .values(
                state=bindparam("_to"),
                provider_id=func.coalesce(bindparam("_pid"), deliveries.c.provider_id),
                reason=func.coalesce(bindparam("_reason"), deliveries.c.reason),
                updated_at=at,
            )
        )
        params = [
            {
                "_id": c.delivery_id,
                "_from": c.from_state,
                "_to": c.to_state,
                "_pid": c.provider_id,
                "_reason": c.reason,
            }
            for c in changes
        ]
        with self._engine.begin() as conn:
            result = conn.execute(stmt, params)
            return int(result.rowcount)

    def count_states(self, digest_id: int) -> Mapping[str, int]:
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.state, func.count())
                .where(deliveries.c.digest_id == digest_id)
                .group_by(deliveries.c.state)
            )
            return {r[0]: int(r[1]) for r in rows}

    def record_test_sends(self, digest_id: int, results: Sequence[RecipientResult], at: datetime) -> None:
        if not results:
            return
        with self._engine.begin() as conn:
            conn.execute(
                insert(test_sends),
                [
                    {
                        "digest_id": digest_id,
                        "email": r.to,
                        "message_id": r.message_id,
                        "state": r.status,
                        "reason": r.reason,
                        "sent_at": at,
                    }
                    for r in results
                ],
            )

    # --- events and reports ------------------------------------------------------------------------

    def apply_event(self, event: DeliveryEvent, at: datetime) -> str:
        """A provider's event: settle an uncertain delivery, and suppress the subscriber on a hard bounce,
        a complaint or an unsubscribe. Idempotent: applying the same event twice changes nothing more."""
        outcome = []
        with self._engine.begin() as conn:
            if event.message_id:
                row = conn.execute(
                    select(deliveries.c.id, deliveries.c.state).where(
                        deliveries.c.message_id == event.message_id
                    )
                ).first()
                if row is not None and row.state in ("uncertain", "submitted"):
                    to = (
                        "sent"
                        if event.kind == "delivered"
                        else ("failed" if event.kind == "bounce" else "sent")
                    )
                    conn.execute(
                        update(deliveries)
                        .where(deliveries.c.id == row.id, deliveries.c.state == row.state)
                        .values(state=to, reason=event.reason or event.kind, updated_at=at)
                    )
                    outcome.append(f"delivery {event.message_id} {to}")
            status = {"complaint": "complained", "unsubscribe": "unsubscribed"}.get(event.kind)
            if event.kind == "bounce" and event.permanent:
                status = "bounced"
            if status:
                changed = conn.execute(
                    update(subscribers)
                    .where(
                        subscribers.c.email == event.email.strip().lower(),
                        subscribers.c.status.in_(("active", "pending")),
                    )
                    .values(status=status, updated_at=at)
                ).rowcount
                if changed:
                    outcome.append(f"subscriber {status}")
        return "; ".join(outcome) or "no change"

    def report(self, digest_id: int) -> dict[str, Any]:
        states = dict(self.count_states(digest_id))
        with self._engine.connect() as conn:
            failures = conn.execute(
                select(deliveries.c.message_id, deliveries.c.reason)
                .where(deliveries.c.digest_id == digest_id, deliveries.c.state.in_(("failed", "uncertain")))
                .order_by(deliveries.c.id)
                .limit(100)
            ).all()
        return {"states": states, "problems": [{"message_id": m, "reason": r} for m, r in failures]}
