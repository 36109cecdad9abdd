"""Use cases of reporting: sources' health and the contract's `status`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.curate.curation import member_of_source
from pipeline.jobs.services import Services
from pipeline.types import Source, SourceState

# --- status ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceHealth:
    source: Source
    state: SourceState
    items: int

    @property
    def ok(self) -> bool:
        return self.state.failures == 0

    def as_json(self) -> dict[str, object]:
        s = self.state
        return {
            "id": self.source.id,
            "name": self.source.name,
            "kind": self.source.kind,
            "enabled": self.source.enabled,
            "ok": self.ok,
            "last_success": s.last_success.isoformat() if s.last_success else None,
            "last_attempt": s.last_attempt.isoformat() if s.last_attempt else None,
            "last_error_kind": s.last_error_kind,
            "last_error": s.last_error,
            "failures": s.failures,
            "next_due": s.next_due.isoformat() if s.next_due else None,
            "items": self.items,
            "feed_url": s.feed_url,
        }


def sources_health(svc: Services) -> list[SourceHealth]:
    states = svc.store.sources.all()
    counts = svc.store.items.counts_by_source()
    return [
        SourceHealth(s, states.get(s.id, SourceState(source_id=s.id)), counts.get(s.id, 0))
        for s in svc.config.sources
    ]


def status(svc: Services) -> dict[str, object]:
    """The contract's status: sources' health, jobs, the scheduler lock holder and queues."""
    return {
        "sources": [h.as_json() for h in sources_health(svc)],
        "jobs": [
            {"id": j["id"], "next_run": _epoch_iso(j["next_run"])} for j in svc.store.locks.scheduled_jobs()
        ],
        "scheduler": _scheduler_holder(svc),
        "queues": queues(svc),
        "last_digest": last_digest(svc),
        "members_not_featured": members_not_featured(svc),
    }


#: Fair coverage looks back over this many digests.
COVERAGE_DIGESTS = 3


def last_digest(svc: Services) -> dict[str, object] | None:
    record = svc.store.digests.latest()
    if record is None:
        return None
    return {
        "id": record.id,
        "status": record.status,
        "period_end": record.period_end.isoformat(),
        "deliveries": dict(svc.store.deliveries.count_states(record.id)),
    }


def members_not_featured(svc: Services, digests: int = COVERAGE_DIGESTS) -> list[str]:
    """Member organisations none of the last `digests` approved or sent digests featured."""
    recent = svc.store.digests.recent(statuses=("approved", "sending", "sent"), limit=digests)
    if not recent:
        return []
    item_ids = [e.item_id for d in recent for e in svc.store.digests.entries(d.id) if e.included]
    featured: set[str] = set()
    sources = {s.id: s for s in svc.config.sources}
    for item in svc.store.items.list(ids=item_ids):
        member = member_of_source(sources[item.source_id]) if item.source_id in sources else None
        if member:
            featured.add(member)
    for curation in svc.store.curations.get_many(item_ids).values():
        featured.update(curation.members)
    return sorted(m.id for m in svc.config.members if m.id not in featured)


def _epoch_iso(value: object) -> str | None:
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return None


def _scheduler_holder(svc: Services) -> dict[str, object] | None:
    from pipeline.scheduler import LOCK

    held = svc.store.locks.holder(LOCK, svc.clock())
    if held is None:
        return None
    host, _, pid = held.holder.rpartition(":")
    return {
        "host": host,
        "pid": int(pid) if pid.isdigit() else pid,
        "since": held.acquired_at.isoformat(),
        "heartbeat": held.heartbeat_at.isoformat(),
    }


def queues(svc: Services) -> dict[str, object]:
    return {"subscribers": svc.store.subscribers.counts()}
