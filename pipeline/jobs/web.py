"""Serving the web UI (and the scheduler, in the process that holds its lease)."""

from __future__ import annotations

from pipeline.jobs.services import Services

# --- serve ----------------------------------------------------------------------------------------


def serve(svc: Services, *, host: str, port: int, scheduler: bool = True) -> int:
    """The web UI through waitress, and the scheduler when this process wins the lease."""
    from waitress import serve as waitress_serve

    from pipeline.scheduler import LOCK, holder_id, start_if_leader
    from pipeline.web import create_app

    app = create_app(svc)
    sched = start_if_leader(svc, svc.clock()) if scheduler else None
    print(f"serving on http://{host}:{port}/ (scheduler: {'on' if sched else 'off'})", flush=True)
    try:
        waitress_serve(app, host=host, port=port, threads=8, ident="cluster-news")
    finally:
        if sched is not None:
            sched.shutdown(wait=False)
            svc.store.locks.release(LOCK, holder_id())
        svc.close()
    return 0
