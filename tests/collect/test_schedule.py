"""Due times and backoff of failing sources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.collect.schedule import backoff, is_due, next_state
from pipeline.types import CacheInfo, Source, SourceResult, SourceState

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SRC = Source(id="alpha", name="Alpha", kind="feed", url="https://example.org/feed", interval_minutes=60)


def test_a_new_source_is_due() -> None:
    assert is_due(SourceState(source_id="alpha"), NOW)
    assert not is_due(SourceState(source_id="alpha", next_due=NOW + timedelta(minutes=1)), NOW)


def test_failures_back_off_doubling_up_to_a_day() -> None:
    assert [backoff(SRC, n) for n in (0, 1, 2, 3)] == [timedelta(hours=h) for h in (1, 2, 4, 8)]
    assert backoff(SRC, 10) == timedelta(hours=24)
    state = SourceState(source_id="alpha")
    for expected in (2, 4, 8):
        state = next_state(
            SRC, state, SourceResult("alpha", ok=False, error_kind="http_status", error="HTTP 500"), NOW
        )
        assert state.next_due == NOW + timedelta(hours=expected)
    assert state.failures == 3 and state.last_error == "HTTP 500"


def test_success_resets_health_and_stores_validators() -> None:
    failing = SourceState(source_id="alpha", failures=3, last_error="x", last_error_kind="timeout")
    ok = SourceResult("alpha", ok=True, cache=CacheInfo(etag='"2"'))
    state = next_state(SRC, failing, ok, NOW)
    assert (state.failures, state.last_error, state.last_success) == (0, None, NOW)
    assert state.cache.etag == '"2"' and state.next_due == NOW + timedelta(hours=1)


def test_not_modified_keeps_the_stored_validators() -> None:
    state = SourceState(source_id="alpha", cache=CacheInfo(etag='"1"', last_modified="Mon"))
    after = next_state(SRC, state, SourceResult("alpha", ok=True, not_modified=True), NOW)
    assert after.cache == CacheInfo(etag='"1"', last_modified="Mon")


def test_a_long_retry_after_postpones_the_source_as_the_server_asked() -> None:
    told = SourceResult("alpha", ok=False, error_kind="http_status", error="HTTP 429", retry_after=6 * 3600)
    assert next_state(SRC, SourceState(source_id="alpha"), told, NOW).next_due == NOW + timedelta(hours=6)
    huge = SourceResult("alpha", ok=False, error_kind="http_status", error="HTTP 503", retry_after=10**7)
    assert next_state(SRC, SourceState(source_id="alpha"), huge, NOW).next_due == NOW + timedelta(hours=24)
