"""Parsing in worker processes: results and errors come back intact, and a runaway parse is cut off."""

from __future__ import annotations

import signal
import subprocess
import sys
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


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits for its parent


def test_workers_end_when_their_collector_is_killed() -> None:
    """kill -9 of the collector must not leave parser processes (and their fork server) behind."""
    script = (
        "import sys, time\n"
        "from datetime import UTC, datetime\n"
        "from pipeline.collect import parsing\n"
        "pool = parsing.ParserPool(2)\n"
        f"pool.parsers.feed(open({str(FEEDS / 'rss2.xml')!r}, 'rb').read(), url='https://example.org/f',\n"
        "                  now=datetime.now(UTC))\n"
        "print(*pool._pool._processes, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        workers = [int(pid) for pid in proc.stdout.readline().split()]
        assert workers and all(_running(pid) for pid in workers)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(pid) for pid in workers):
        time.sleep(0.05)
    assert not any(_running(pid) for pid in workers)
