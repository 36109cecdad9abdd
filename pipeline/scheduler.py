"""APScheduler wiring only: which use case runs when. Jobs are persisted in the pipeline's database.

Only the process holding the database lease `scheduler` runs jobs, so two `serve` processes never
collect or send twice; `status` shows the holder.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import datetime

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from pipeline import jobs
from pipeline.jobs.digest import send_clock

log = logging.getLogger(__name__)
LOCK = "scheduler"


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# Job functions take plain arguments (config path and database URL) so that APScheduler can persist them.


def collect_and_curate(config_path: str, db_url: str) -> None:
    svc = jobs.make_services(config_path, db_url)
    try:
        report = jobs.collect_all(svc)
        log.info("scheduled collect: %s", report.as_json())
        jobs.run_after_collect(svc)
    finally:
        svc.close()


def refresh_draft(config_path: str, db_url: str) -> None:
    svc = jobs.make_services(config_path, db_url)
    try:
        jobs.run_draft_job(svc)
    finally:
        svc.close()


def send_due(config_path: str, db_url: str) -> None:
    svc = jobs.make_services(config_path, db_url)
    try:
        jobs.send_scheduled(svc)
    finally:
        svc.close()


def heartbeat(config_path: str, db_url: str, holder: str) -> None:
    svc = jobs.make_services(config_path, db_url)
    try:
        svc.store.locks.acquire(LOCK, holder, svc.clock())
    finally:
        svc.close()


def build_scheduler(svc: jobs.Services, *, holder: str) -> BackgroundScheduler:
    settings = svc.config.settings
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=svc.store.engine)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=settings.timezone,
    )
    args = [svc.config.path, svc.db_url]
    scheduler.add_job(
        collect_and_curate, IntervalTrigger(minutes=30), args=args, id="collect", replace_existing=True
    )
    # The open draft is refreshed every day, three hours before the send time, for the team to review;
    # approved digests go out at their own scheduled time (see jobs.digest.next_send_slot).
    hour, minute = send_clock(settings.digest)
    scheduler.add_job(
        refresh_draft,
        CronTrigger(hour=max(hour - 3, 0), minute=minute),
        args=args,
        id="draft",
        replace_existing=True,
    )
    scheduler.add_job(send_due, IntervalTrigger(minutes=1), args=args, id="send", replace_existing=True)
    scheduler.add_job(
        heartbeat, IntervalTrigger(seconds=30), args=[*args, holder], id="heartbeat", replace_existing=True
    )
    return scheduler


def start_if_leader(
    svc: jobs.Services, now: datetime, *, holder: str | None = None
) -> BackgroundScheduler | None:
    """Start the scheduler if this process wins (or holds) the lease; else None (serve the web UI only)."""
    holder = holder or holder_id()
    if not svc.store.locks.acquire(LOCK, holder, now):
        current = svc.store.locks.holder(LOCK, now)
        log.warning(
            "another process (%s) runs the scheduler; serving the web UI only",
            current.holder if current else "?",
        )
        return None
    scheduler = build_scheduler(svc, holder=holder)
    scheduler.start()
    return scheduler
