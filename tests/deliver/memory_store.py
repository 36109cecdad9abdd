"""An in-memory `DeliveryStore` for tests and the send benchmark.

It keeps the same rules the SQL store must keep: (digest, subscriber) is unique, changes are
compare-and-set on the current state and go through the engine's `check_transition`.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pipeline.deliver.engine import check_transition
from pipeline.types import (
    Delivery,
    DeliveryChange,
    DeliveryState,
    NewDelivery,
    RecipientResult,
    Subscriber,
)


@dataclass
class _Row:
    id: int
    digest_id: int
    subscriber_id: int
    message_id: str
    segment: str
    state: DeliveryState
    provider_id: str | None = None
    reason: str | None = None
    history: list[DeliveryState] = field(default_factory=list)


class MemoryDeliveryStore:
    def __init__(self, subscribers: Iterable[Subscriber] = ()) -> None:
        self.subs: dict[int, Subscriber] = {s.id: s for s in subscribers}
        self.rows: dict[int, _Row] = {}
        self._by_key: dict[tuple[int, int], int] = {}
        self._ids_by_segment: dict[tuple[int, str], list[int]] = defaultdict(list)
        self._ids_by_digest: dict[int, list[int]] = defaultdict(list)
        self._next_id = 1
        self.test_sends: list[tuple[int, RecipientResult]] = []
        self.changes_applied = 0

    # --- helpers for tests -------------------------------------------------------------------------

    def set_status(self, subscriber_id: int, status: str) -> None:
        from dataclasses import replace

        self.subs[subscriber_id] = replace(self.subs[subscriber_id], status=status)  # type: ignore[arg-type]

    def states(self, digest_id: int) -> dict[int, DeliveryState]:
        """subscriber id -> state of its delivery."""
        return {r.subscriber_id: r.state for r in self.rows.values() if r.digest_id == digest_id}

    def row_of(self, digest_id: int, subscriber_id: int) -> _Row:
        return self.rows[self._by_key[(digest_id, subscriber_id)]]

    # --- DeliveryStore -------------------------------------------------------------------------------

    def subscribers(self) -> Iterable[Subscriber]:
        return list(self.subs.values())

    def add_deliveries(self, digest_id: int, rows: Sequence[NewDelivery], at: datetime) -> int:
        created = 0
        for new in rows:
            key = (digest_id, new.subscriber_id)
            if key in self._by_key:
                continue
            row = _Row(
                self._next_id,
                digest_id,
                new.subscriber_id,
                new.message_id,
                new.segment,
                new.state,
                reason=new.reason,
                history=[new.state],
            )
            self._next_id += 1
            self.rows[row.id] = row
            self._by_key[key] = row.id
            self._ids_by_segment[(digest_id, new.segment)].append(row.id)
            self._ids_by_digest[digest_id].append(row.id)
            created += 1
        return created

    def fetch_deliveries(
        self,
        digest_id: int,
        state: DeliveryState,
        *,
        limit: int,
        after_id: int = 0,
        segment: str | None = None,
    ) -> Sequence[Delivery]:
        ids = (
            self._ids_by_digest[digest_id] if segment is None else self._ids_by_segment[(digest_id, segment)]
        )
        out: list[Delivery] = []
        for i in range(bisect.bisect_right(ids, after_id), len(ids)):
            row = self.rows[ids[i]]
            if row.state != state:
                continue
            out.append(
                Delivery(
                    row.id,
                    row.digest_id,
                    self.subs[row.subscriber_id],
                    row.message_id,
                    row.segment,
                    row.state,
                    row.provider_id,
                    row.reason,
                )
            )
            if len(out) >= limit:
                break
        return out

    def segments(self, digest_id: int, state: DeliveryState) -> Sequence[str]:
        return sorted(
            {r.segment for i in self._ids_by_digest[digest_id] if (r := self.rows[i]).state == state}
        )

    def apply_changes(self, changes: Sequence[DeliveryChange], at: datetime) -> int:
        applied = 0
        for c in changes:
            row = self.rows[c.delivery_id]
            if row.state != c.from_state:
                continue
            check_transition(c.from_state, c.to_state)
            row.state = c.to_state
            row.history.append(c.to_state)
            if c.provider_id is not None:
                row.provider_id = c.provider_id
            if c.reason is not None:
                row.reason = c.reason
            applied += 1
        self.changes_applied += applied
        return applied

    def count_states(self, digest_id: int) -> Mapping[str, int]:
        return Counter(self.rows[i].state for i in self._ids_by_digest[digest_id])

    def record_test_sends(self, digest_id: int, results: Sequence[RecipientResult], at: datetime) -> None:
        self.test_sends.extend((digest_id, r) for r in results)
