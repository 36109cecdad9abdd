"""The use cases: the one place where stages, store and clock meet. CLI, web and scheduler call these.

One module per area; everything is re-exported here so callers write `jobs.collect_all(...)`.
"""

from datetime import timedelta

from pipeline.jobs import subscribe
from pipeline.jobs.audience import ImportReport, export_subscriber_data, import_subscribers
from pipeline.jobs.collect import CollectReport, collect_all, due_sources, select_sources
from pipeline.jobs.curate import CurateReport, curate_new, curation_context, item_view, list_items, regroup
from pipeline.jobs.decisions import DECISION_WORDS, decide, decide_in_words, story_of
from pipeline.jobs.deliver import apply_events, send, send_scheduled, send_test_copies
from pipeline.jobs.digest import (
    DraftResult,
    approve,
    build_draft,
    lint,
    lint_with_links,
    load_digest,
    render_to,
)
from pipeline.jobs.scheduled import run_after_collect, run_draft_job
from pipeline.jobs.services import Clock, Services, init_database, make_services, utc_now
from pipeline.jobs.status import SourceHealth, queues, sources_health, status
from pipeline.jobs.web import serve

#: `items` without --since shows this window.
DEFAULT_ITEMS_WINDOW = timedelta(days=14)

__all__ = [
    "subscribe",
    "run_after_collect",
    "run_draft_job",
    "apply_events",
    "send",
    "send_scheduled",
    "send_test_copies",
    "DraftResult",
    "approve",
    "build_draft",
    "lint",
    "lint_with_links",
    "load_digest",
    "render_to",
    "CurateReport",
    "curate_new",
    "curation_context",
    "DECISION_WORDS",
    "decide",
    "decide_in_words",
    "item_view",
    "list_items",
    "regroup",
    "story_of",
    "DEFAULT_ITEMS_WINDOW",
    "Clock",
    "CollectReport",
    "ImportReport",
    "Services",
    "SourceHealth",
    "collect_all",
    "due_sources",
    "export_subscriber_data",
    "import_subscribers",
    "init_database",
    "make_services",
    "queues",
    "select_sources",
    "serve",
    "sources_health",
    "status",
    "utc_now",
]
