"""A lease in the database so that only one process runs the scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, insert, inspect, select, text, update
from sqlalchemy.exc import IntegrityError

from pipeline.store.schema import scheduler_lock

#: A holder that has not renewed its lease for this long is presumed dead.
STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class LockHolder:
    holder: str
    acquired_at: datetime
    heartbeat_at: datetime


class Locks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def acquire(self, name: str, holder: str, now: datetime) -> bool:
        """Take the lease if it is free, stale or ours; renew it if ours."""
        with self._engine.begin() as conn:
            took = conn.execute(
                update(scheduler_lock)
                .where(scheduler_lock.c.name == name)
                .where(
                    (scheduler_lock.c.holder == holder) | (scheduler_lock.c.heartbeat_at < now - STALE_AFTER)
                )
                .values(holder=holder, heartbeat_at=now)
            ).rowcount
            if took:
                return True
            if conn.execute(select(scheduler_lock.c.name).where(scheduler_lock.c.name == name)).first():
                return False
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(scheduler_lock).values(
                            name=name, holder=holder, acquired_at=now, heartbeat_at=now
                        )
                    )
            except IntegrityError:
                return False
        return True

    def release(self, name: str, holder: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(
                delete(scheduler_lock).where(scheduler_lock.c.name == name, scheduler_lock.c.holder == holder)
            )

    def holder(self, name: str, now: datetime) -> LockHolder | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(scheduler_lock).where(scheduler_lock.c.name == name)).mappings().first()
        if row is None or row["heartbeat_at"] < now - STALE_AFTER:
            return None
        return LockHolder(row["holder"], row["acquired_at"], row["heartbeat_at"])

    def scheduled_jobs(self) -> list[dict[str, object]]:
        """Jobs APScheduler persisted in this database (its own table), with their next run time."""
        if not inspect(self._engine).has_table("apscheduler_jobs"):
            return []
        with self._engine.connect() as conn:
            rows = conn.execute(text("SELECT id, next_run_time FROM apscheduler_jobs ORDER BY next_run_time"))
            return [{"id": r[0], "next_run": r[1]} for r in rows]
