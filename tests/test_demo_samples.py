"""The bundled demo samples, served by DemoServer on 127.0.0.1, as the collector and a user see them."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.robotparser import RobotFileParser
from zoneinfo import ZoneInfo

import feedparser
import pytest
import yaml
from bs4 import BeautifulSoup

from pipeline.collect.discover import discover_feeds
from pipeline.collect.http import Fetcher
from pipeline.collect.source import collect_source
from pipeline.config import parse_config
from pipeline.demo import DEMO_SOURCES, DemoServer, demo_sources_yaml, read_base_config
from pipeline.demo.server import format_date, not_modified, render_sample, resolve_date
from pipeline.types import SourceState

NOW = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
OSLO = ZoneInfo("Europe/Oslo")
PROJECT_SOURCES = Path(__file__).resolve().parents[1] / "sources.yaml"
NORWEGIAN_MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august", "september",
                    "oktober", "november", "desember")
RFC3339 = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}\b")
RFC822 = re.compile(
    r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}\b"
)
NORWEGIAN_DATE = re.compile(rf"\b(\d{{1,2}})\. ({'|'.join(NORWEGIAN_MONTHS)}) (\d{{4}})\b")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def get(url: str, headers: Mapping[str, str] | None = None, method: str = "GET") -> Answer:
    request = urllib.request.Request(url, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return Answer(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:  # 304 and 404 arrive as errors in urllib
        return Answer(exc.code, dict(exc.headers.items()), exc.read())


@pytest.fixture(scope="module")
def server() -> Iterator[DemoServer]:
    with DemoServer(NOW) as s:
        yield s


@pytest.fixture(scope="module")
def documents(server: DemoServer) -> dict[str, Answer]:
    return {path: get(server.url(path)) for path in server.paths()}


def demo(source_id: str):
    return next(d for d in DEMO_SOURCES if d.id == source_id)


def feed_documents(documents: dict[str, Answer]) -> dict[str, Answer]:
    return {p: a for p, a in documents.items() if "xml" in a.headers["Content-Type"]}


# --- placeholders and dates ------------------------------------------------------------------------


def test_date_spec_names_local_time_days_before_now() -> None:
    when = resolve_date("-3d 09:30", NOW, OSLO)
    assert when == datetime(2025, 3, 11, 9, 30, tzinfo=OSLO)
    assert format_date(when, "rfc822") == "Tue, 11 Mar 2025 09:30:00 +0100"
    assert format_date(when, "rfc3339") == "2025-03-11T09:30:00+01:00"
    assert format_date(when, "no") == "11. mars 2025"
    assert format_date(when, "en") == "11 March 2025"


def test_date_spec_never_lands_in_the_future_and_follows_summer_time() -> None:
    later_today = resolve_date("-0d 23:00", NOW, OSLO)
    assert later_today < NOW and later_today.day == 13
    assert resolve_date("-5h", NOW, OSLO) == NOW - timedelta(hours=5)
    after_switch = datetime(2025, 3, 31, 8, 0, tzinfo=UTC)
    summer = resolve_date("-1d 09:30", after_switch, OSLO)
    winter = resolve_date("-2d 09:30", after_switch, OSLO)
    assert format_date(summer, "rfc3339") == "2025-03-30T09:30:00+02:00"
    assert format_date(winter, "rfc3339") == "2025-03-29T09:30:00+01:00"


def test_bad_date_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="bad date placeholder"):
        resolve_date("three days ago", NOW, OSLO)
    with pytest.raises(ValueError, match="unknown date format"):
        render_sample("{{date:-1d 09:00|iso}}", base_url="http://x", now=NOW, tz=OSLO)


def test_render_reports_newest_date_and_rewrites_base() -> None:
    text, newest = render_sample("<a href='{{base}}/a'>{{date:-2d 10:00}}</a> {{ date:-1d 08:00|no }}",
                                 base_url="http://127.0.0.1:9", now=NOW, tz=OSLO)
    assert text == "<a href='http://127.0.0.1:9/a'>2025-03-12T10:00:00+01:00</a> 13. mars 2025"
    assert newest == datetime(2025, 3, 13, 8, 0, tzinfo=OSLO)


def test_every_sample_is_served_with_all_placeholders_replaced(server: DemoServer,
                                                               documents: dict[str, Answer]) -> None:
    assert len(documents) > 100  # 12 feeds, 3 listings, a home page and an article page per item
    for path, answer in documents.items():
        assert answer.status == 200, path
        assert "{{" not in answer.text and "}}" not in answer.text, path
    assert all(server.base_url in a.text for p, a in documents.items() if p.endswith((".xml", "/")))


def test_content_types_are_right(documents: dict[str, Answer]) -> None:
    kinds = {"application/rss+xml": 0, "application/atom+xml": 0, "text/html": 0}
    for path, answer in documents.items():
        ctype = answer.headers["Content-Type"]
        mime = ctype.split(";")[0]
        assert mime in kinds, (path, ctype)
        kinds[mime] += 1
        head = answer.text[:1000]
        if mime == "text/html":
            assert ctype == "text/html; charset=utf-8" and "<!DOCTYPE html>" in head, path
        elif mime == "application/rss+xml":
            assert "<rss" in head, path
        else:
            assert "<feed" in head, path
    assert kinds["application/rss+xml"] == 9 and kinds["application/atom+xml"] == 3


def test_every_date_lies_in_the_ten_days_before_now(documents: dict[str, Answer]) -> None:
    earliest = NOW - timedelta(days=10)
    found = 0
    for path, answer in documents.items():
        for stamp in RFC3339.findall(answer.text):
            assert earliest <= datetime.fromisoformat(stamp) <= NOW, (path, stamp)
            found += 1
        for stamp in RFC822.findall(answer.text):
            assert earliest <= datetime.strptime(stamp, "%a, %d %b %Y %H:%M:%S %z") <= NOW, (path, stamp)
            found += 1
        for day, month, year in NORWEGIAN_DATE.findall(answer.text):
            shown = date(int(year), NORWEGIAN_MONTHS.index(month) + 1, int(day))
            assert earliest.date() <= shown <= NOW.date(), (path, day, month)
            found += 1
    assert found > 300


# --- feeds and pages -----------------------------------------------------------------------------


def test_every_feed_parses_with_five_to_ten_fresh_entries(server: DemoServer,
                                                          documents: dict[str, Answer]) -> None:
    feeds = feed_documents(documents)
    assert len(feeds) == 12
    total = 0
    for path, answer in feeds.items():
        parsed = feedparser.parse(answer.body)
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert 5 <= len(parsed.entries) <= 10, path
        for entry in parsed.entries:
            published = datetime(*entry.published_parsed[:6], tzinfo=UTC)
            assert NOW - timedelta(days=10) <= published <= NOW, (path, entry.title)
            assert entry.link.removeprefix(server.base_url) in documents, (path, entry.link)  # a served page
        total += len(parsed.entries)
    listed = sum(len(BeautifulSoup(documents[d.path].body, "html.parser").select(d.selectors["item"]))
                 for d in DEMO_SOURCES if d.kind == "page")
    assert 90 <= total + listed <= 110


def test_wordpress_feeds_carry_full_content_and_images(documents: dict[str, Answer]) -> None:
    parsed = feedparser.parse(documents["/nykode/feed/"].body)
    assert parsed.feed.generator.startswith("https://wordpress.org/")
    first = parsed.entries[0]
    assert "atezolizumab" in first.content[0].value
    assert first.media_content[0]["url"].endswith(".png")


def test_one_rss_feed_declares_norwegian_bokmal(documents: dict[str, Answer]) -> None:
    parsed = feedparser.parse(documents["/kreftforeningen/rss.xml"].body)
    assert parsed.feed.language == "nb"
    assert any("immunterapi" in e.title.lower() for e in parsed.entries)


def test_home_page_links_its_feed(server: DemoServer, documents: dict[str, Answer]) -> None:
    home = demo("nykode")
    feeds = discover_feeds(documents[home.path].body, url=server.url(home.path))
    assert feeds[0] == server.url("/nykode/feed/")


@pytest.mark.parametrize("source_id", [d.id for d in DEMO_SOURCES if d.kind == "page"])
def test_listing_items_link_to_article_pages_with_metadata(source_id: str, server: DemoServer,
                                                           documents: dict[str, Answer]) -> None:
    spec = demo(source_id)
    assert spec.selectors is not None
    soup = BeautifulSoup(documents[spec.path].body, "html.parser")
    items = soup.select(spec.selectors["item"])
    assert 5 <= len(items) <= 10
    for item in items:
        title = item.select_one(spec.selectors["title"]).get_text(strip=True)
        link = item.select_one(spec.selectors["link"])["href"]
        assert item.select_one(spec.selectors["date"]).get_text(strip=True)
        assert item.select_one(spec.selectors["summary"]).get_text(strip=True)
        article = documents[link.removeprefix(server.base_url)]
        page = BeautifulSoup(article.body, "html.parser")
        assert page.find("meta", property="og:title")["content"] == title
        assert page.find("meta", property="og:url")["content"] == link
        ld = json.loads(page.find("script", type="application/ld+json").string)
        assert ld["@type"] == "NewsArticle" and ld["headline"] == title
        assert NOW - timedelta(days=10) <= datetime.fromisoformat(ld["datePublished"]) <= NOW


def test_norwegian_listing_prints_norwegian_dates(documents: dict[str, Answer]) -> None:
    spec = demo("ous")
    soup = BeautifulSoup(documents[spec.path].body, "html.parser")
    dates = [el.get_text(strip=True) for el in soup.select(spec.selectors["date"])]
    assert dates and all(NORWEGIAN_DATE.fullmatch(d) for d in dates)
    assert soup.html["lang"] == "nb"


def test_content_exercises_curation(documents: dict[str, Answer]) -> None:
    everything = "\n".join(a.text for a in feed_documents(documents).values())
    assert re.search(r"NCT\d{8}", everything) and re.search(r"20\d{2}-5\d{5}-\d{2}-\d{2}", everything)
    unsafe = [p for p, a in feed_documents(documents).items() if "onerror=" in a.text]
    assert unsafe == ["/oncoinvent/feed/"] and "&lt;script&gt;" not in documents[unsafe[0]].text
    assert "<script>" in documents[unsafe[0]].text  # raw, inside CDATA: sanitising must remove it
    feeds = feed_documents(documents)
    titles = {p: {e.title for e in feedparser.parse(a.body).entries} for p, a in feeds.items()}
    assert titles["/nykode/feed/"] & titles["/occ-incubator/feed/"]  # re-published word for word
    assert "We are hiring: Senior Scientist, Radiopharmaceutical Development" in titles["/oncoinvent/feed/"]
    assert "Our use of cookies has changed" in titles["/occ-incubator/feed/"]


def test_images_are_served_as_png(server: DemoServer, documents: dict[str, Answer]) -> None:
    paths = sorted(set(re.findall(r"/images/[a-z0-9-]+\.png", "".join(a.text for a in documents.values()))))
    assert len(paths) >= 10
    for path in paths[:3]:
        answer = get(server.url(path))
        assert answer.status == 200 and answer.headers["Content-Type"] == "image/png"
        assert answer.body.startswith(b"\x89PNG\r\n\x1a\n")


# --- HTTP behaviour ------------------------------------------------------------------------------


def test_revalidation_answers_304(server: DemoServer) -> None:
    url = server.url("/zelluna/atom.xml")
    first = get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert get(url, {"If-None-Match": etag}).status == 304
    assert get(url, {"If-None-Match": etag}).body == b""
    assert get(url, {"If-Modified-Since": modified}).status == 304
    assert get(url, {"If-None-Match": '"something-else"'}).status == 200
    assert get(url, {"If-Modified-Since": "Mon, 03 Mar 2025 00:00:00 GMT"}).status == 200
    # If-None-Match decides alone when both are sent.
    assert get(url, {"If-None-Match": '"other"', "If-Modified-Since": modified}).status == 200


def test_last_modified_is_the_newest_item(server: DemoServer) -> None:
    listing = get(server.url("/ous/nyheter/"))
    assert listing.headers["Last-Modified"] == "Wed, 12 Mar 2025 12:00:00 GMT"  # 13:00 Oslo, two days ago


def test_not_modified_reads_weak_and_listed_tags() -> None:
    assert not_modified('W/"a", "b"', None, '"a"', None)
    assert not_modified("*", None, '"a"', None)
    assert not not_modified(None, "not a date", None, NOW)
    assert not_modified(None, "Fri, 14 Mar 2025 10:00:00 GMT", None, NOW)


def test_head_unknown_paths_and_traversal(server: DemoServer) -> None:
    head = get(server.url("/radforsk/rss.xml"), method="HEAD")
    assert head.status == 200 and head.body == b"" and int(head.headers["Content-Length"]) > 1000
    assert get(server.url("/no/such/page.html")).status == 404
    assert get(server.url("/%2e%2e/server.py")).status == 404
    assert get(server.url("/..%2fserver.py")).status == 404


def test_robots_txt_allows_everything(server: DemoServer) -> None:
    robots = RobotFileParser()
    robots.parse(get(server.url("/robots.txt")).text.splitlines())
    assert robots.can_fetch("OCCNewsDigest/0.1", server.url("/occ/category/news/"))


def test_server_logs_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    with DemoServer(NOW) as s:
        get(s.url("/lytix/feed/"))
        get(s.url("/missing"))
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        DemoServer(datetime(2025, 3, 14, 10, 0))


# --- the demo configuration ------------------------------------------------------------------------


def test_demo_config_loads_and_keeps_real_identities(server: DemoServer) -> None:
    base = read_base_config(PROJECT_SOURCES.read_text(encoding="utf-8"))
    config = parse_config(demo_sources_yaml(server.base_url, server.host_port, base_config=base),
                          file="demo.yaml")
    assert config.settings.http.allow_private == (server.host_port,)
    assert config.settings.delivery.provider == "outbox"
    assert [t.id for t in config.themes] == list(base["themes"])
    real = {s["id"]: s for s in base["sources"]}
    assert {s.id for s in config.sources} == {d.id for d in DEMO_SOURCES}
    for source in config.sources:
        assert source.url.startswith(server.base_url + "/"), source.id
        if source.id in real:
            twin = real[source.id]
            assert (source.name, source.member) == (twin["name"], twin.get("member", False))
    kinds = [s.kind for s in config.sources]
    assert kinds.count("page") == 3 and kinds.count("home") == 1 and kinds.count("feed") == 11
    assert all(s.selectors is not None for s in config.sources if s.kind == "page")


def test_demo_config_survives_a_yaml_1_1_base(server: DemoServer) -> None:
    # yaml.safe_load reads a bare `no:` key as False; the Norwegian terms must still arrive as "no".
    base = yaml.safe_load("settings: {language: en}\nsources: []\nthemes:\n  policy:\n    label: Policy\n"
                          "    terms: {en: [policy], no: [helsepolitikk]}\n")
    config = parse_config(demo_sources_yaml(server.base_url, server.host_port, base_config=base,
                                            outbox_dir="/tmp/demo-outbox"))
    assert config.themes[0].terms.no == ("helsepolitikk",)
    assert config.settings.delivery.outbox_dir == "/tmp/demo-outbox"


def test_collector_reads_every_demo_source(server: DemoServer) -> None:
    base = read_base_config(PROJECT_SOURCES.read_text(encoding="utf-8"))
    config = parse_config(demo_sources_yaml(server.base_url, server.host_port, base_config=base))
    fetcher = Fetcher(config.settings.http)
    items = []
    for source in config.sources:
        result = collect_source(source, SourceState(source_id=source.id), fetcher, now=NOW)
        assert result.ok, (source.id, result.error)
        assert not any(i.date_missing for i in result.items), source.id
        items.extend(result.items)
    fetcher.close()
    assert 90 <= len(items) <= 110
    assert {i.language for i in items} == {"en", "no"}
    booth = next(i for i in items if "ESMO Gynaecological" in i.title)
    assert "<script" not in booth.summary_html and "onerror" not in booth.summary_html
