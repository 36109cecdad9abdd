"""collect end to end: real CLI, real SQLite file, a loopback server serving recorded feeds and pages."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.loopback import LoopbackServer, Reply

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parents[1]
RSS = "application/rss+xml; charset=utf-8"

LISTING = """<!doctype html><html lang="en"><body>
<article><h2><a href="/news/one">Checkpoint inhibitor study opens</a></h2><p>A phase II study.</p></article>
<article><h2><a href="/news/two">Genomics centre opens in Oslo</a></h2>
  <time datetime="2026-11-20T08:00:00Z">20 Nov</time><p>Sequencing for precision medicine.</p></article>
</body></html>"""
ARTICLE = """<!doctype html><html lang="en"><head>
<meta property="og:title" content="Checkpoint inhibitor study opens">
<meta property="og:description" content="A phase II study of a checkpoint inhibitor opens in Oslo.">
<meta property="og:image" content="/img/one.jpg">
<meta property="article:published_time" content="2026-11-21T10:00:00Z">
</head><body><p>Text.</p></body></html>"""


def fixture(name: str) -> bytes:
    return (FIXTURES / "feeds" / name).read_bytes()


@pytest.fixture
def site():
    with LoopbackServer() as server:
        server.route("/rss2.xml", _conditional(fixture("rss2.xml"), RSS, etag='"r1"'))
        server.route(
            "/atom.xml",
            _conditional(
                fixture("atom.xml"), "application/atom+xml", last_modified="Mon, 23 Nov 2026 08:00:00 GMT"
            ),
        )
        server.reply(
            "/home",
            Reply(
                body=b'<html><head><link rel="alternate" type="application/rss+xml" '
                b'href="/wp/feed"></head><body>Home</body></html>',
                headers={"Content-Type": "text/html"},
            ),
        )
        server.reply(
            "/wp/feed", Reply(body=fixture("wordpress.xml"), headers={"Content-Type": RSS, "ETag": '"w"'})
        )
        server.reply(
            "/news", Reply(body=LISTING.encode(), headers={"Content-Type": "text/html; charset=utf-8"})
        )
        server.reply("/news/one", Reply(body=ARTICLE.encode(), headers={"Content-Type": "text/html"}))
        server.reply("/news/two", Reply(status=500))
        server.reply("/broken.xml", Reply(body=fixture("malformed.xml"), headers={"Content-Type": RSS}))
        server.reply(
            "/html-not-feed", Reply(body=fixture("html_page.html"), headers={"Content-Type": "text/html"})
        )
        server.reply("/down", Reply(status=503))
        server.reply("/hostile.xml", Reply(body=fixture("hostile.xml"), headers={"Content-Type": RSS}))
        yield server


def _conditional(body: bytes, ctype: str, *, etag: str | None = None, last_modified: str | None = None):
    """A resource that answers 304 to the validators it handed out."""
    validators = {"ETag": etag, "Last-Modified": last_modified}

    def handler(request):
        if (etag and request.header("If-None-Match") == etag) or (
            last_modified and request.header("If-Modified-Since") == last_modified
        ):
            return Reply(status=304)
        return Reply(body=body, headers={"Content-Type": ctype, **{k: v for k, v in validators.items() if v}})

    return handler


def sources_yaml(server: LoopbackServer) -> str:
    def src(sid: str, kind: str, path: str, extra: str = "") -> str:
        url = server.url(path)
        return f"  - {{id: {sid}, name: {sid.title()}, member: true, kind: {kind}, url: '{url}'{extra}}}"

    return "\n".join(
        [
            src("rss", "feed", "/rss2.xml"),
            src("atom", "feed", "/atom.xml"),
            src("home", "home", "/home"),
            src(
                "listing",
                "page",
                "/news",
                ", selectors: {item: article, title: h2, link: h2 a, date: time, summary: p}",
            ),
            src("broken", "feed", "/broken.xml"),
            src("htmlfeed", "feed", "/html-not-feed"),
            src("down", "feed", "/down"),
            src("hostile", "feed", "/hostile.xml"),
            src("blocked", "feed", "/rss2.xml").replace("127.0.0.1", "127.0.0.2"),
        ]
    )


def test_collect_stores_good_sources_and_records_each_failure(cli, project, site) -> None:
    project.write_config(sources_yaml(site), allow=site.authority)
    assert cli("init").code == 0
    result = cli("collect", "--json")
    assert result.code == 0, result.err
    report = result.json()
    failed = {f["id"]: f for f in report["failed"]}
    assert set(failed) == {"broken", "htmlfeed", "down", "blocked"}
    assert failed["htmlfeed"]["kind"] == "parse" and "HTML" in failed["htmlfeed"]["reason"]
    assert failed["down"]["kind"] == "http_status" and "503" in failed["down"]["reason"]
    assert failed["blocked"]["kind"] == "blocked_address"
    assert report["sources"] == 9 and report["fetched"] == 5 and report["not_modified"] == 0
    assert len(site.requests_for("/down")) > 1  # 503 is retried before it counts as a failure

    db = sqlite3.connect(project.root / "pipeline.db")
    rows = db.execute(
        "select source_id, title, url, summary_html, published, date_missing from items"
    ).fetchall()
    assert report["new_items"] == len(rows) > 0
    by_source: dict[str, list[tuple]] = {}
    for row in rows:
        by_source.setdefault(row[0], []).append(row)
    assert {"rss", "atom", "home", "listing", "hostile"} <= set(by_source)
    for row in rows:  # nothing executable is ever stored
        assert (
            "<script" not in row[3].lower()
            and "onerror" not in row[3].lower()
            and "javascript:" not in row[3]
        )
        assert "<" not in row[1]
    # the listing's first article had no date: its page was read once for OpenGraph metadata
    one = next(r for r in by_source["listing"] if r[2].endswith("/news/one"))
    assert one[4].startswith("2026-11-21 10:00") and one[5] == 0
    assert len(site.requests_for("/news/one")) == 1
    # the home page's feed was discovered and remembered
    state = dict(db.execute("select source_id, feed_url from source_state").fetchall())
    assert state["home"] == site.url("/wp/feed")
    health = dict(db.execute("select source_id, failures from source_state").fetchall())
    assert health["down"] == 1 and health["rss"] == 0


def test_second_collect_uses_validators_and_adds_nothing(cli, project, site) -> None:
    project.write_config(sources_yaml(site), allow=site.authority)
    cli("init")
    first = cli("collect", "--json").json()
    not_due = cli("collect", "--json").json()
    assert not_due["sources"] == 0 and not_due["skipped_not_due"] == 9  # nothing is due an hour later
    second = cli("collect", "--force", "--json").json()
    assert first["new_items"] > 0 and second["new_items"] == 0 and second["updated_items"] == 0
    assert second["not_modified"] >= 2
    assert site.requests_for("/rss2.xml")[-1].header("If-None-Match") == '"r1"'
    assert site.requests_for("/atom.xml")[-1].header("If-Modified-Since") == "Mon, 23 Nov 2026 08:00:00 GMT"
    assert len(site.requests_for("/home")) == 1  # the discovered feed is fetched directly afterwards
    assert len(site.requests_for("/news/one")) == 1  # a stored article is never fetched again


def test_status_shows_each_sources_health(cli, project, site) -> None:
    project.write_config(sources_yaml(site), allow=site.authority)
    cli("init")
    cli("collect")
    status = cli("status", "--json").json()
    by_id = {s["id"]: s for s in status["sources"]}
    assert by_id["rss"]["ok"] and by_id["rss"]["items"] == 3
    assert not by_id["down"]["ok"] and by_id["down"]["failures"] == 1 and "503" in by_id["down"]["last_error"]
    assert {"sources", "jobs", "scheduler", "queues"} <= set(status)
    table = cli("status")
    assert table.code == 0 and "down" in table.out


def test_unknown_source_id_is_a_clear_error(cli, project, site) -> None:
    project.write_config(sources_yaml(site), allow=site.authority)
    cli("init")
    result = cli("collect", "--source", "nope")
    assert result.code == 2 and "unknown source id(s): nope" in result.err


def test_a_killed_collect_resumes_without_losing_or_duplicating(project, tmp_path) -> None:
    """Kill -9 the collector midway; the next run fetches the rest, and every item is stored once."""
    from datetime import UTC, datetime

    from pipeline.collect.feeds import parse_feed

    feeds = 12
    expected: set[str] = set()
    with LoopbackServer() as server:
        for n in range(feeds):
            body = fixture("rss2.xml").replace(b"https://", f"https://s{n}.".encode())
            parsed = parse_feed(body, url=server.url(f"/f{n}.xml"), now=datetime.now(UTC))
            expected.update(i.canonical_url for i in parsed.items)
            server.reply(f"/f{n}.xml", Reply(body=body, headers={"Content-Type": RSS}, delay_s=0.4))
        project.write_config(
            "\n".join(
                f"  - {{id: f{n}, name: F{n}, kind: feed, url: '{server.url(f'/f{n}.xml')}'}}"
                for n in range(feeds)
            ),
            allow=server.authority,
        )
        env = {**os.environ, "PIPELINE_SECRET_KEY": "x" * 32}
        base = [sys.executable, str(ROOT / "run.py"), "--config", str(project.config), "--db", project.db]
        subprocess.run([*base, "init"], check=True, env=env, capture_output=True)
        proc = subprocess.Popen(
            [*base, "collect", "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        db_path = project.root / "pipeline.db"
        deadline = time.monotonic() + 30
        done = 0
        while time.monotonic() < deadline and done < 3:
            time.sleep(0.05)
            try:
                with sqlite3.connect(db_path) as db:
                    done = db.execute("select count(*) from source_state").fetchone()[0]
            except sqlite3.OperationalError:
                continue
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with sqlite3.connect(db_path) as db:
            stored_sources = db.execute("select count(*) from source_state").fetchone()[0]
        assert 0 < stored_sources < feeds, "the kill should land midway"
        again = subprocess.run(
            [*base, "collect", "--json"], env=env, capture_output=True, text=True, check=True
        )
        import json

        report = json.loads(again.stdout)
        assert report["sources"] == feeds - stored_sources  # only what was not finished is fetched
        with sqlite3.connect(db_path) as db:
            assert db.execute("select count(*) from source_state").fetchone()[0] == feeds
            stored = [r[0] for r in db.execute("select canonical_url from items")]
        assert len(stored) == len(set(stored)) and set(stored) == expected


def test_a_server_asking_to_wait_is_left_alone_that_long(cli, project) -> None:
    from datetime import UTC, datetime, timedelta

    with LoopbackServer() as server:
        server.reply("/busy.xml", Reply(status=429, headers={"Retry-After": "7200"}))
        project.write_config(
            f"  - {{id: busy, name: Busy, kind: feed, url: '{server.url('/busy.xml')}'}}",
            allow=server.authority,
        )
        cli("init")
        report = cli("collect", "--json").json()
        assert report["failed"][0]["kind"] == "http_status" and "429" in report["failed"][0]["reason"]
        assert len(server.requests_for("/busy.xml")) == 1  # not retried against the server's word
    status = cli("status", "--json").json()
    next_due = datetime.fromisoformat(status["sources"][0]["next_due"])
    assert next_due >= datetime.now(UTC) + timedelta(minutes=119)


def test_lint_check_links_asks_every_link_head_then_get(cli, project) -> None:
    def item(n: int) -> str:
        title, summary = (
            ("Checkpoint inhibitor study opens in Bergen", "A phase II immunotherapy trial for melanoma."),
            ("New genomics centre for precision medicine", "Tumour sequencing for every patient in Oslo."),
            ("Cancer vaccine start-up closes seed round", "The company raised funding for its vaccine."),
        )[n]
        return (
            f"<item><title>{title}</title><link>{{base}}/news/{n}</link>"
            f"<guid>n{n}</guid><pubDate>Mon, 23 Nov 2026 09:00:00 +0000</pubDate>"
            f"<description>{summary}</description></item>"
        )

    with LoopbackServer() as server:
        feed = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>{base}/</link>'
            + "".join(item(n) for n in range(3))
            + "</channel></rss>"
        ).replace("{base}", server.url("/").rstrip("/"))
        project.serve_feed(server, "/feed.xml", feed.encode())
        server.reply("/news/0", Reply(body=b"<html>ok</html>", headers={"Content-Type": "text/html"}))
        server.route("/news/1", lambda req: Reply(status=405) if req.method == "HEAD" else Reply(body=b"ok"))
        server.reply("/news/2", Reply(status=404))
        cli("init")
        cli("collect")
        cli("curate")
        draft = cli("draft", "--since", "2026-11-01", "--json").json()
        plain = cli("lint", str(draft["id"]), "--json").json()
        checked = cli("lint", str(draft["id"]), "--check-links", "--json")
        head_then_get = [r.method for r in server.requests_for("/news/1")]
    broken = [f for f in checked.json()["findings"] if f["level"] == "error"]
    assert plain["errors"] == 0 and checked.code == 1
    assert len(broken) == 1 and "/news/2" in broken[0]["message"] and "404" in broken[0]["message"]
    assert head_then_get == ["HEAD", "GET"]


class _RecordingBar:
    """Stands in for the terminal's progress bar: records what the command reports to it."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.updates: list[dict[str, object]] = []

    def __enter__(self) -> _RecordingBar:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def add_task(self, description: str, total: int | None = None) -> int:
        return 0

    def update(self, task: int, **fields: object) -> None:
        self.updates.append(fields)


def test_at_a_terminal_collect_and_curate_report_progress(cli, project, monkeypatch) -> None:
    from pipeline.cli import collect as collect_cli
    from pipeline.cli import curate as curate_cli

    bars: list[_RecordingBar] = []

    def bar(label: str) -> _RecordingBar:
        bars.append(_RecordingBar(label))
        return bars[-1]

    for module in (collect_cli, curate_cli):
        monkeypatch.setattr(module, "wants_progress", lambda args: True)
        monkeypatch.setattr(module, "progress_bar", bar)
    with LoopbackServer() as server:
        project.serve_feed(server, "/feed.xml", (FIXTURES / "feeds" / "rss2.xml").read_bytes())
        cli("init")
        collected = cli("collect")
        curated = cli("curate")
    assert collected.code == 0 and "1 sources" in collected.out
    assert curated.code == 0 and curated.out.startswith("curated ")
    collecting, curating = bars
    assert (collecting.label, curating.label) == ("collecting", "curating")
    assert collecting.updates[0] == {"total": 1} and collecting.updates[-1]["description"] == "alpha"
    last = curating.updates[-1]
    assert last["completed"] == last["total"] and last["total"] > 0
    assert last["description"] == "grouping stories"
