"""What the scheduler runs, as use cases: each logs and survives its own expected failures."""

from __future__ import annotations

import logging

from pipeline.errors import DigestError
from pipeline.jobs.curate import curate_new
from pipeline.jobs.digest import DraftResult, build_draft
from pipeline.jobs.services import Services

log = logging.getLogger(__name__)


def run_after_collect(svc: Services) -> None:
    """Curate what the collection brought."""
    report = curate_new(svc)
    log.info("scheduled curate: %s", report.as_json())


def run_draft_job(svc: Services) -> DraftResult | None:
    """Refresh the open draft for the team to review (an empty period is no error)."""
    try:
        result = build_draft(svc)
    except DigestError as exc:
        log.info("no draft refreshed: %s", exc)
        return None
    log.info("scheduled draft: %s", result.as_json())
    return result
