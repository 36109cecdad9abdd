"""Parsing in worker processes: results and errors come back intact, and a runaway parse is cut off."""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.collect import parsing
from pipeline.errors import ParseError

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def test_the_pool_parses_like_the_process_itself() -> None:
    data = (FEEDS / "rss2.xml").read_bytes()
    with parsing.ParserPool(2) as pool:
        remote = pool.parsers.feed(data, url="https://example.org/feed", now=NOW)
    local = parsing.IN_PROCESS.feed(data, url="https://example.org/feed", now=NOW)
    assert remote == local and len(remote.items) == 3


def test_a_parse_error_in_a_worker_keeps_its_reason() -> None:
    data = (FEEDS / "html_page.html").read_bytes()
    with parsing.ParserPool(1) as pool, pytest.raises(ParseError) as info:
        pool.parsers.feed(data, url="https://example.org/feed", now=NOW)
    assert info.value.url == "https://example.org/feed"
    assert str(info.value).startswith("https://example.org/feed: ") and "HTML" in str(info.value)
    assert str(info.value).count("https://example.org/feed") == 1


def test_a_parse_that_runs_too_long_is_abandoned(monkeypatch: pytest.MonkeyPatch) -> None:
    def endless(*_args: object, **_kwargs: object) -> None:
        while True:
            time.sleep(0.01)

    monkeypatch.setitem(parsing._FUNCTIONS, "feed", endless)
    previous = signal.getsignal(signal.SIGALRM)
    parsing._init_worker(0)  # the worker's set-up, here in the test process
    try:
        status, reason = parsing._run_in_worker("feed", 0.2, (), {"url": "https://example.org/feed"})
    finally:
        signal.signal(signal.SIGALRM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    assert status == "error" and reason.startswith("parsing took longer than 0.2 s")
