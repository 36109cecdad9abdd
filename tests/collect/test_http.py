"""The fetcher against a real loopback HTTP(S) server: bounded, polite, guarded, errors typed."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.collect.http import Fetcher, parse_content_type, parse_retry_after, retry_delay
from pipeline.errors import (
    BlockedAddress,
    ConnectionFailed,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    InvalidURL,
    RobotsDisallowed,
    TooLarge,
    TooManyRedirects,
)
from pipeline.types import CacheInfo, HttpSettings
from tests.support.loopback import LoopbackServer, RecordedRequest, Reply, gzip_reply
from tests.support.tls import make_certificates

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>News</title></channel></rss>'
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as s:
        yield s


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_fetcher(server: LoopbackServer, sleeps: list[float]) -> Iterator[Callable[..., Fetcher]]:
    made: list[Fetcher] = []

    def make(resolver=None, ca_bundle: str | None = None, rng=lambda: 0.5, **overrides) -> Fetcher:
        settings = HttpSettings(
            allow_private=(server.authority,),
            timeout_s=5.0,
            retries=2,
            backoff_s=0.5,
            user_agent="TestBot/1.0",
        )
        settings = replace(settings, **overrides)
        fetcher = Fetcher(settings, resolver=resolver, sleep=sleeps.append, rng=rng, ca_bundle=ca_bundle)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


# --- the ordinary case --------------------------------------------------------------------------------


def test_a_feed_is_returned_with_its_type_charset_and_validators(server, make_fetcher) -> None:
    server.reply(
        "/feed.xml",
        Reply(
            body=RSS,
            headers={
                "Content-Type": 'application/rss+xml; charset="ISO-8859-1"',
                "ETag": '"v1"',
                "Last-Modified": LAST_MODIFIED,
            },
        ),
    )
    fetched = make_fetcher(contact_url="https://news.example.org/bot").fetch(server.url("/feed.xml"))

    assert fetched.status == 200
    assert fetched.content == RSS
    assert fetched.content_type == "application/rss+xml"
    assert fetched.encoding == "ISO-8859-1"
    assert fetched.cache == CacheInfo(etag='"v1"', last_modified=LAST_MODIFIED)
    assert fetched.url == server.url("/feed.xml")
    assert not fetched.not_modified
    (request,) = server.requests_for("/feed.xml")
    assert request.header("User-Agent") == "TestBot/1.0 (+https://news.example.org/bot)"
    assert request.header("Host") == server.authority
    assert "gzip" in (request.header("Accept-Encoding") or "")
    assert "application/rss+xml" in (request.header("Accept") or "")
    assert request.header("If-None-Match") is None


def test_the_caller_chooses_the_accept_header(server, make_fetcher) -> None:
    server.reply("/page", Reply(body=b"<html></html>", headers={"Content-Type": "text/html"}))
    make_fetcher().fetch(server.url("/page"), accept="text/html")
    assert server.requests_for("/page")[0].header("Accept") == "text/html"


def test_html_served_instead_of_a_feed_is_still_returned(server, make_fetcher) -> None:
    page = b"<!doctype html><html><body><h1>Our news moved</h1></body></html>"
    server.reply("/feed", Reply(body=page, headers={"Content-Type": "text/html; charset=utf-8"}))
    fetched = make_fetcher().fetch(server.url("/feed"))
    assert (fetched.content, fetched.content_type, fetched.encoding) == (page, "text/html", "utf-8")


def test_a_gzipped_body_is_decompressed(server, make_fetcher) -> None:
    server.reply("/feed", gzip_reply(RSS * 100, content_type="application/xml"))
    assert make_fetcher().fetch(server.url("/feed")).content == RSS * 100


def test_cookies_are_neither_kept_nor_sent(server, make_fetcher) -> None:
    # Requests go to IP addresses, so a cookie jar would hand one host's cookies to its neighbours.
    server.reply("/feed", Reply(body=RSS, headers={"Set-Cookie": "session=abc; Path=/"}))
    fetcher = make_fetcher()
    fetcher.fetch(server.url("/feed"))
    fetcher.fetch(server.url("/feed"))
    assert [r.header("Cookie") for r in server.requests_for("/feed")] == [None, None]


# --- conditional GET ------------------------------------------------------------------------------------


def test_a_conditional_get_sends_validators_and_a_304_means_not_modified(server, make_fetcher) -> None:
    def feed(request: RecordedRequest) -> Reply:
        if request.header("If-None-Match") == '"v1"':
            return Reply(status=304, headers={"ETag": '"v1"'})
        return Reply(body=RSS, headers={"ETag": '"v1"', "Last-Modified": LAST_MODIFIED})

    server.route("/feed", feed)
    fetcher = make_fetcher()
    first = fetcher.fetch(server.url("/feed"))
    again = fetcher.fetch(server.url("/feed"), cache=first.cache)

    assert again.not_modified
    assert again.status == 304
    assert again.content == b""
    assert again.cache == first.cache == CacheInfo('"v1"', LAST_MODIFIED)
    second_request = server.requests_for("/feed")[1]
    assert second_request.header("If-None-Match") == '"v1"'
    assert second_request.header("If-Modified-Since") == LAST_MODIFIED


# --- bounded work ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_length", [True, False])
def test_a_dripping_server_is_cut_off_at_the_deadline(server, make_fetcher, content_length: bool) -> None:
    # A byte every 0.1 s satisfies any per-read timeout; only the total deadline stops it.
    server.reply("/ok", Reply(body=b"fine"))
    server.reply("/drip", Reply(body=b"x" * 1000, drip_s=0.1, content_length=content_length))
    fetcher = make_fetcher(timeout_s=1.5, read_timeout_s=10.0, retries=0)
    fetcher.fetch(server.url("/ok"))  # so the drip may also reuse a kept-alive connection

    with pytest.raises(FetchTimeout) as caught:
        fetcher.fetch(server.url("/drip"))
    assert caught.value.url == server.url("/drip")
    # The worker was let go long before the drip ended: 1.5 s at 10 bytes a second is about 15 bytes,
    # while a fetcher that only checked its clock between reads would have waited for all 1000.
    assert server.body_bytes_sent("/drip") < 500


def test_a_server_that_never_answers_times_out(server, make_fetcher) -> None:
    # The read timeout alone would wait a minute; the server gives up after 30 s: only the deadline
    # turns this into a timeout.
    server.reply("/hang", Reply(hang_s=30))
    with pytest.raises(FetchTimeout):
        make_fetcher(timeout_s=1.0, read_timeout_s=60.0, retries=0).fetch(server.url("/hang"))


def test_a_gzip_bomb_stops_at_the_cap_on_decompressed_bytes(server, make_fetcher) -> None:
    bomb = gzip_reply(bytes(50_000_000), content_type="application/rss+xml")
    assert len(bomb.body) < 100_000  # the wire carries little; the cap is about what it expands to
    server.reply("/bomb", bomb)
    with pytest.raises(TooLarge) as caught:
        make_fetcher(max_bytes=1_000_000).fetch(server.url("/bomb"))
    assert caught.value.url == server.url("/bomb")
    assert not caught.value.transient


def test_a_body_declared_too_large_is_refused(server, make_fetcher) -> None:
    server.reply("/big", Reply(body=bytes(300_000)))
    with pytest.raises(TooLarge):
        make_fetcher(max_bytes=100_000).fetch(server.url("/big"))
    assert make_fetcher(max_bytes=300_000).fetch(server.url("/big")).content == bytes(300_000)


# --- redirects ------------------------------------------------------------------------------------------


def test_redirects_are_followed_and_the_final_url_returned(server, make_fetcher) -> None:
    server.redirect("/old", "/middle", status=301)
    server.redirect("/middle", server.url("/new"), status=308)
    server.reply("/new", Reply(body=RSS))
    fetched = make_fetcher().fetch(server.url("/old"))
    assert fetched.url == server.url("/new")
    assert fetched.content == RSS


def test_a_redirect_loop_stops_after_max_redirects(server, make_fetcher) -> None:
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    with pytest.raises(TooManyRedirects) as caught:
        make_fetcher(max_redirects=5).fetch(server.url("/a"))
    assert caught.value.url == server.url("/a")
    assert len(server.requests) == 6  # the first request and five redirects


def test_a_redirect_to_a_private_address_is_blocked(server, make_fetcher) -> None:
    server.redirect("/go", "http://169.254.169.254/latest/meta-data/")
    with pytest.raises(BlockedAddress) as caught:
        make_fetcher().fetch(server.url("/go"))
    assert caught.value.url == "http://169.254.169.254/latest/meta-data/"
    assert "link-local" in str(caught.value)


def test_a_redirect_to_a_loopback_name_not_allowed_is_never_requested(server, make_fetcher) -> None:
    # Same server, but reached as "localhost", which the allow list does not name.
    server.redirect("/go", server.url("/secret", host="localhost"))
    server.reply("/secret", Reply(body=b"internal"))
    with pytest.raises(BlockedAddress, match="loopback"):
        make_fetcher().fetch(server.url("/go"))
    assert server.requests_for("/secret") == []


# --- the address guard on the first request -------------------------------------------------------------


def test_a_loopback_server_is_refused_unless_allowed(server, make_fetcher) -> None:
    server.reply("/feed", Reply(body=RSS))
    with pytest.raises(BlockedAddress) as caught:
        make_fetcher(allow_private=()).fetch(server.url("/feed"))
    assert caught.value.url == server.url("/feed")
    assert "127.0.0.1" in str(caught.value)
    with pytest.raises(BlockedAddress):
        make_fetcher(allow_private=(f"127.0.0.1:{server.port + 1}",)).fetch(server.url("/feed"))
    assert server.requests == []

    assert make_fetcher(allow_private=(server.authority,)).fetch(server.url("/feed")).content == RSS


def test_the_connection_goes_to_the_checked_address_not_a_new_lookup(server, make_fetcher) -> None:
    # "feeds.example.test" exists only in this resolver: the request can only reach the server if the
    # fetcher connects to the address the guard checked, keeping the name in the Host header.
    lookups: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"]

    server.reply("/feed", Reply(body=RSS))
    fetcher = make_fetcher(resolver=resolver, allow_private=(f"feeds.example.test:{server.port}",))
    fetched = fetcher.fetch(server.url("/feed", host="feeds.example.test"))

    assert fetched.url == server.url("/feed", host="feeds.example.test")
    assert server.requests_for("/feed")[0].header("Host") == f"feeds.example.test:{server.port}"
    assert lookups == ["feeds.example.test"]


def test_invalid_urls_are_refused_before_any_request(make_fetcher) -> None:
    with pytest.raises(InvalidURL):
        make_fetcher().fetch("file:///etc/passwd")


# --- retries --------------------------------------------------------------------------------------------


def test_a_server_error_is_retried_with_backoff(server, make_fetcher, sleeps) -> None:
    server.replies("/feed", [Reply(status=500), Reply(body=RSS)])
    fetched = make_fetcher(backoff_s=0.5).fetch(server.url("/feed"))
    assert fetched.content == RSS
    assert len(server.requests_for("/feed")) == 2
    assert sleeps == [0.375]  # half of 0.5 s fixed, plus half of it times the jitter draw of 0.5


def test_retries_give_up_after_the_configured_count(server, make_fetcher, sleeps) -> None:
    server.reply("/feed", Reply(status=503))
    with pytest.raises(HTTPStatusError) as caught:
        make_fetcher(retries=2, backoff_s=1.0, rng=lambda: 0.0).fetch(server.url("/feed"))
    assert caught.value.status == 503
    assert caught.value.transient
    assert len(server.requests_for("/feed")) == 3
    assert sleeps == [0.5, 1.0]  # exponential: 1 s then 2 s, halved by the lowest jitter


def test_429_retry_after_seconds_is_honoured(server, make_fetcher, sleeps) -> None:
    server.replies("/feed", [Reply(status=429, headers={"Retry-After": "7"}), Reply(body=RSS)])
    assert make_fetcher().fetch(server.url("/feed")).content == RSS
    assert sleeps == [7.0]


def test_a_retry_after_beyond_the_limit_is_returned_not_waited(server, make_fetcher, sleeps) -> None:
    server.reply("/feed", Reply(status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(HTTPStatusError) as caught:
        make_fetcher(max_retry_after_s=30).fetch(server.url("/feed"))
    assert (caught.value.status, caught.value.retry_after) == (429, 3600.0)
    assert sleeps == []
    assert len(server.requests_for("/feed")) == 1


def test_a_404_is_not_retried(server, make_fetcher, sleeps) -> None:
    with pytest.raises(HTTPStatusError) as caught:
        make_fetcher().fetch(server.url("/missing"))
    assert caught.value.status == 404
    assert not caught.value.transient
    assert caught.value.url == server.url("/missing")
    assert len(server.requests_for("/missing")) == 1
    assert sleeps == []


def test_a_refused_connection_is_retried_then_reported(make_fetcher, sleeps) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fetcher = make_fetcher(allow_private=(f"127.0.0.1:{port}",), retries=1)
    with pytest.raises(ConnectionFailed) as caught:
        fetcher.fetch(f"http://127.0.0.1:{port}/feed")
    assert caught.value.url == f"http://127.0.0.1:{port}/feed"
    assert len(sleeps) == 1


def test_garbage_instead_of_http_is_a_fetch_error(server, make_fetcher) -> None:
    server.reply("/junk", Reply(raw=b"this is not HTTP\r\n\r\n"))
    with pytest.raises(FetchError) as caught:
        make_fetcher(retries=0).fetch(server.url("/junk"))
    assert isinstance(caught.value, ConnectionFailed)


def test_a_corrupt_gzip_body_is_a_fetch_error(server, make_fetcher, sleeps) -> None:
    body = b"\x1f\x8b\x08\x00" + b"\xff" * 50  # a gzip header, then nothing deflate can read
    server.reply("/feed", Reply(body=body, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(ConnectionFailed, match="decompress"):
        make_fetcher().fetch(server.url("/feed"))
    assert sleeps == []  # the same bytes will come back: no point retrying


# --- politeness -----------------------------------------------------------------------------------------


def test_at_most_per_host_requests_run_at_once(server, make_fetcher) -> None:
    server.reply("/slow", Reply(body=b"done", delay_s=0.3))
    fetcher = make_fetcher(per_host=2)
    with ThreadPoolExecutor(max_workers=6) as pool:
        bodies = list(pool.map(lambda _: fetcher.fetch(server.url("/slow")).content, range(6)))
    assert bodies == [b"done"] * 6
    assert server.max_concurrent("/slow") == 2


def test_robots_txt_disallow_is_respected_and_cached(server, make_fetcher) -> None:
    robots = b"User-agent: TestBot\nDisallow: /private/\n\nUser-agent: *\nAllow: /\n"
    server.reply("/robots.txt", Reply(body=robots))
    server.reply("/private/feed", Reply(body=RSS))
    server.reply("/public/feed", Reply(body=RSS))
    fetcher = make_fetcher()

    with pytest.raises(RobotsDisallowed) as caught:
        fetcher.fetch(server.url("/private/feed"), check_robots=True)
    assert caught.value.url == server.url("/private/feed")
    assert fetcher.fetch(server.url("/public/feed"), check_robots=True).content == RSS
    assert fetcher.fetch(server.url("/private/feed")).content == RSS  # not asked to check
    assert len(server.requests_for("/private/feed")) == 1
    assert len(server.requests_for("/robots.txt")) == 1


@pytest.mark.parametrize("status", [404, 500])
def test_a_missing_or_broken_robots_txt_allows_everything(server, make_fetcher, status: int) -> None:
    server.reply("/robots.txt", Reply(status=status))
    server.reply("/feed", Reply(body=RSS))
    assert make_fetcher().fetch(server.url("/feed"), check_robots=True).content == RSS


# --- TLS to the checked address -------------------------------------------------------------------------


def test_https_verifies_the_certificate_for_the_name_while_connecting_to_the_checked_address(
    tmp_path: Path, make_fetcher
) -> None:
    certs = make_certificates(tmp_path, names=("feeds.example.test",))
    context = certs.server_context()
    server_names: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: server_names.append(name)  # type: ignore[assignment]
    with LoopbackServer(ssl_context=context) as tls:
        tls.reply("/feed", Reply(body=RSS))
        fetcher = make_fetcher(
            resolver=lambda host, port: ["127.0.0.1"],
            ca_bundle=str(certs.ca_file),
            allow_private=(f"feeds.example.test:{tls.port}", f"other.example.test:{tls.port}"),
        )
        fetched = fetcher.fetch(tls.url("/feed", host="feeds.example.test"))
        assert fetched.content == RSS
        assert server_names[0] == "feeds.example.test"

        # The same address under a name the certificate does not cover is refused, and not retried.
        with pytest.raises(ConnectionFailed, match="TLS") as caught:
            fetcher.fetch(tls.url("/feed", host="other.example.test"))
        assert not caught.value.transient
        assert len(tls.requests_for("/feed")) == 1


# --- pure helpers ---------------------------------------------------------------------------------------


def test_parse_retry_after_reads_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after("Mon, 02 Mar 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Mon, 02 Mar 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_parse_content_type() -> None:
    assert parse_content_type("Application/Atom+XML;charset=utf-8") == ("application/atom+xml", "utf-8")
    assert parse_content_type("text/html") == ("text/html", None)
    assert parse_content_type(None) == (None, None)


def test_retry_delay_rules() -> None:
    settings = HttpSettings(backoff_s=1.0, max_retry_after_s=30.0)
    url = "https://example.org/feed"
    assert retry_delay(HTTPStatusError(url, 503), 0, 2, settings, 1.0) == 1.0
    assert retry_delay(HTTPStatusError(url, 503), 1, 2, settings, 1.0) == 2.0
    assert retry_delay(HTTPStatusError(url, 503), 2, 2, settings, 1.0) is None  # out of retries
    assert retry_delay(HTTPStatusError(url, 429, retry_after=12), 0, 2, settings, 0.3) == 12
    assert retry_delay(HTTPStatusError(url, 403), 0, 2, settings, 0.3) is None
    assert retry_delay(FetchTimeout(url, "slow"), 0, 2, settings, 0.0) == 0.5
    assert retry_delay(TooLarge(url, "big"), 0, 2, settings, 0.0) is None


def test_ssl_module_is_real() -> None:
    # The TLS test above needs a real OpenSSL with SNI; fail loudly rather than skip if it is missing.
    assert ssl.HAS_SNI


def test_one_connection_serves_a_host_s_fetches_not_modified_ones_included() -> None:
    """Keep-alive: a 304 must hand its connection back to the pool, not close it."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - the base class's name
            modified = self.headers.get("If-None-Match") != '"v1"'
            self.send_response(200 if modified else 304)
            self.send_header("ETag", '"v1"')
            self.send_header("Content-Length", str(len(RSS) if modified else 0))
            self.end_headers()
            if modified:
                self.wfile.write(RSS)

    class Counting(ThreadingHTTPServer):
        daemon_threads = True
        connections = 0

        def get_request(self) -> tuple[socket.socket, tuple[str, int]]:
            Counting.connections += 1
            return super().get_request()

    httpd = Counting(("127.0.0.1", 0), Handler)
    Thread(target=httpd.serve_forever, daemon=True).start()
    authority = f"127.0.0.1:{httpd.server_address[1]}"
    try:
        with Fetcher(HttpSettings(allow_private=(authority,), timeout_s=5.0)) as fetcher:
            first = fetcher.fetch(f"http://{authority}/feed")
            results = [fetcher.fetch(f"http://{authority}/feed", cache=first.cache) for _ in range(3)]
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert first.content == RSS and all(r.not_modified for r in results)
    assert Counting.connections == 1


def test_a_deadline_still_fires_in_a_process_forked_after_fetching_began() -> None:
    """The deadline keeper is one thread per process; a fork copies none, so the child starts its own."""
    import os
    import time

    from pipeline.collect import http

    started = http._Watch(5.0, time.monotonic)
    started.start()  # the keeper thread now runs in this process
    started.stop()
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if its own deadline fired
        watch = http._Watch(0.1, time.monotonic)
        watch.start()
        time.sleep(0.5)
        os._exit(0 if watch.fired else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
