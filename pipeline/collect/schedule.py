"""When a source is due, and how its health changes after a fetch. Pure: state and `now` in, state out."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from pipeline.types import Source, SourceResult, SourceState

MAX_BACKOFF = timedelta(hours=24)


def is_due(state: SourceState, now: datetime) -> bool:
    return state.next_due is None or state.next_due <= now


def backoff(source: Source, failures: int) -> timedelta:
    """The wait after `failures` failures in a row: the interval, doubled per failure, at most 24 h."""
    interval = timedelta(minutes=source.interval_minutes)
    if failures <= 0:
        return interval
    return min(interval * (2 ** min(failures, 16)), MAX_BACKOFF)


def next_state(source: Source, state: SourceState, result: SourceResult, now: datetime) -> SourceState:
    """The source's health after `result`. A 304 counts as success; validators change only on a 200."""
    if not result.ok:
        failures = state.failures + 1
        wait = backoff(source, failures)
        if result.retry_after:  # the server said when to come back: never sooner, at most a day
            wait = max(wait, min(timedelta(seconds=result.retry_after), MAX_BACKOFF))
        return replace(
            state,
            last_attempt=now,
            last_error_kind=result.error_kind,
            last_error=result.error,
            failures=failures,
            next_due=now + wait,
        )
    return replace(
        state,
        feed_url=result.feed_url if result.feed_url is not None else state.feed_url,
        cache=state.cache if result.not_modified else result.cache,
        last_attempt=now,
        last_success=now,
        last_error_kind=None,
        last_error=None,
        failures=0,
        next_due=now + backoff(source, 0),
        warnings=state.warnings if result.not_modified else result.warnings,
    )
