"""The scheduler: its jobs are persisted in the database, and only the lease holder runs them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline import jobs, scheduler
from pipeline.store import Store

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_only_one_process_holds_the_scheduler_lease_until_it_goes_stale(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path}/p.db", require_schema=False)
    store.upgrade()
    assert store.locks.acquire("scheduler", "host-a:1", NOW)
    assert not store.locks.acquire("scheduler", "host-b:2", NOW + timedelta(seconds=30))
    assert store.locks.acquire("scheduler", "host-a:1", NOW + timedelta(seconds=30))  # renewal
    held = store.locks.holder("scheduler", NOW + timedelta(seconds=40))
    assert held is not None and held.holder == "host-a:1"
    # host-a stops renewing: after the stale interval host-b takes over
    assert store.locks.acquire("scheduler", "host-b:2", NOW + timedelta(minutes=5))
    assert store.locks.holder("scheduler", NOW + timedelta(minutes=5)).holder == "host-b:2"
    store.locks.release("scheduler", "host-b:2")
    assert store.locks.holder("scheduler", NOW + timedelta(minutes=5)) is None


def test_the_scheduler_persists_its_jobs_and_status_reports_them(cli, project) -> None:
    cli("init")
    svc = jobs.make_services(str(project.config), project.db)
    try:
        sched = scheduler.start_if_leader(svc, datetime.now(UTC))
        assert sched is not None
        sched.shutdown(wait=False)
        status = jobs.status(svc)
    finally:
        svc.close()
    assert {j["id"] for j in status["jobs"]} == {"collect", "draft", "send", "heartbeat"}
    assert all(j["next_run"] for j in status["jobs"])
    assert status["scheduler"]["pid"] > 0 and status["scheduler"]["host"]
    second = jobs.make_services(str(project.config), project.db)
    try:
        # another process (another holder) does not get the lease while this one renews it
        assert scheduler.start_if_leader(second, datetime.now(UTC), holder="other-host:99") is None
    finally:
        second.close()


def test_a_scheduled_draft_on_an_empty_period_is_no_error(cli, project) -> None:
    cli("init")
    svc = jobs.make_services(str(project.config), project.db)
    try:
        first = jobs.run_draft_job(svc)
        assert first is not None and first.entries == 0
        jobs.run_after_collect(svc)  # nothing to curate: fine
    finally:
        svc.close()
