"""Pre-send checks: one test per rule, on real rendered digests."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from dataclasses import replace
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipeline.render import check_links, lint_digest, outbound_links, render_digest
from pipeline.render.urls import http_url_problem, private_host_problem
from pipeline.types import DigestSection, Rendered

from .samples import NOW, big_digest, english_digest, entry, settings


def codes(findings, level=None):
    return {f.code for f in findings if level is None or f.level == level}


def lint(digest, rendered=None, s=None, now=NOW):
    s = s or settings()
    return lint_digest(digest, rendered or render_digest(digest, s), s, now)


def with_section(*entries):
    return replace(english_digest(), sections=(DigestSection("immuno-oncology", "Immuno-oncology", entries),))


def test_a_good_digest_has_no_findings():
    assert lint(english_digest()) == []


def test_size_over_budget_is_an_error():
    d = big_digest(40)
    r = render_digest(d, settings())
    findings = lint(d, r, settings(max_html_bytes=len(r.html.encode()) - 1))
    assert "size_budget" in codes(findings, "error")
    assert next(f for f in findings if f.code == "size_budget").where == "html"


def test_missing_text_part_and_unsubscribe_are_errors():
    d = english_digest()
    r = render_digest(d, settings())
    broken = replace(r, text="  ", html=r.html.replace('href="[[unsubscribe_url]]"', 'href="https://x.example.org/"'))
    found = codes(lint(d, broken), "error")
    assert {"no_text_part", "no_unsubscribe"} <= found


def test_relative_and_malformed_links_are_errors_naming_the_item():
    d = english_digest()
    r = render_digest(d, settings())
    html = r.html.replace('"https://members.example.org/news/2"', '"/news/2"').replace(
        "https://ous.example.no/news/77", "https://bad host.example/x")
    # The digest that carries the bad URL names the item it belongs to.
    first = d.sections[0].entries[0]
    broken = replace(first.also_reported[0], url="https://bad host.example/x")
    bad_also = replace(first, also_reported=(broken,))
    d = replace(d, sections=(replace(d.sections[0], entries=(bad_also, *d.sections[0].entries[1:])),
                             *d.sections[1:]))
    findings = lint(d, replace(r, html=html))
    bad = [f for f in findings if f.code == "bad_link"]
    assert len(bad) == 2 and all(f.level == "error" for f in bad)
    assert {f.where for f in bad} == {"html", "item 1 'Cancer vaccine enters phase II trial'"}


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8025/a", "http://10.1.2.3/", "http://192.168.0.10/x", "http://[::1]/",
    "http://localhost/x", "https://printer.local/", "https://wiki.corp.internal/page", "http://169.254.1.1/",
])
def test_links_to_private_or_loopback_hosts_are_errors(url):
    d = with_section(entry(60, "immuno-oncology", "Internal", url=url))
    found = [f for f in lint(d) if f.code == "private_link"]
    assert found and found[0].level == "error" and found[0].where.startswith("item 60")


def test_public_hosts_are_not_private():
    assert private_host_problem("https://8.8.8.8/") is None
    assert private_host_problem("https://www.oslocancercluster.no/news") is None
    assert http_url_problem("https://www.oslocancercluster.no/news?a=1#x") is None
    assert http_url_problem("ftp://example.org/") is not None
    assert http_url_problem("https://example.org:99999/") is not None


def test_image_without_alt_is_an_error():
    d = english_digest()
    r = render_digest(d, settings())
    html = r.html.replace('alt="Vials of the vaccine candidate"', "")
    assert "missing_alt" in codes(lint(d, replace(r, html=html)), "error")


def test_item_under_embargo_is_an_error_until_the_embargo_lifts():
    held = entry(70, "immuno-oncology", "Embargoed result", embargo_until=NOW + timedelta(hours=2))
    d = with_section(held)
    findings = lint(d)
    assert [f.where for f in findings if f.code == "embargo"] == ["item 70 'Embargoed result'"]
    assert "embargo" not in codes(lint(d, now=NOW + timedelta(hours=3)))


def test_empty_section_is_an_error():
    empty = DigestSection("policy", "Policy", ())
    d = replace(english_digest(), sections=(*english_digest().sections, empty))
    findings = lint(d)
    assert [f.where for f in findings if f.code == "empty_section"] == ["section policy"]


def test_script_in_the_html_is_an_error():
    d = english_digest()
    r = render_digest(d, settings())
    html = r.html.replace("</body>", "<script>x</script></body>")
    assert "active_content" in codes(lint(d, replace(r, html=html)))


def test_dropped_items_and_render_warnings_are_warnings():
    d = big_digest(40, blurb_len=600)
    full = len(render_digest(d, settings()).html.encode())
    s = settings(max_html_bytes=full - 10_000)
    r = render_digest(d, s)
    findings = lint(d, r, s)
    assert {"dropped_items", "render"} <= codes(findings, "warning")
    assert "error" not in {f.level for f in findings}


def test_errors_come_first():
    held = entry(70, "immuno-oncology", "Embargoed", embargo_until=NOW + timedelta(days=1))
    findings = lint(with_section(held, entry(71, "immuno-oncology", "Fine", url="javascript:x")))
    levels = [f.level for f in findings]
    assert levels == sorted(levels, key=lambda lv: lv != "error") and "warning" in levels


def test_outbound_links_are_the_http_links_once_each():
    r = render_digest(english_digest(), settings(), archive_url="https://news.example.org/archive/7.html")
    links = outbound_links(r)
    assert "https://members.example.org/news/1" in links
    assert "https://cdn.example.org/img/vaccine.jpg" in links
    assert len(links) == len(set(links))
    assert not any("[[" in u for u in links)


# --- check_links against a loopback server ---------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        status = {"/ok": 200, "/gone": 404, "/busy": 503, "/moved": 301}.get(self.path, 404)
        self.send_response(status)
        if status == 301:
            self.send_header("Location", "/ok")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = _answer
    do_HEAD = _answer

    def log_message(self, *args) -> None:  # keep pytest output clean
        pass


@pytest.fixture()
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def urllib_probe(url: str) -> int | None:
    """HEAD, then GET when HEAD is refused: the shape of the fetcher-backed probe the CLI passes."""
    for method in ("HEAD", "GET"):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=5) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            if method == "GET" or exc.code not in (405, 501):
                return exc.code
        except OSError:
            return None
    return None


def test_check_links_reports_dead_and_unanswered_links(server):
    closed = "http://127.0.0.1:9/"  # discard port: nothing listens
    urls = [f"{server}/ok", f"{server}/moved", f"{server}/gone", f"{server}/busy", closed, f"{server}/ok"]
    findings = check_links(urls, urllib_probe, workers=4)
    by_where = {f.where: (f.level, f.code) for f in findings}
    assert by_where == {
        f"{server}/gone": ("error", "dead_link"),
        f"{server}/busy": ("warning", "link_error"),
        closed: ("error", "link_unreachable"),
    }


def test_a_probe_that_raises_fails_only_its_own_link():
    def probe(url: str) -> int | None:
        if "boom" in url:
            raise RuntimeError("resolver exploded")
        return 200

    findings = check_links(["https://a.example.org/", "https://boom.example.org/"], probe)
    assert [(f.where, f.code) for f in findings] == [("https://boom.example.org/", "link_unreachable")]
    assert "resolver exploded" in findings[0].message


def test_check_links_ignores_tokens_and_asks_each_url_once():
    asked: list[str] = []
    lock = threading.Lock()

    def probe(url: str) -> int | None:
        with lock:
            asked.append(url)
        return 200

    urls = ["https://a.example.org/", "[[unsubscribe_url]]", "https://a.example.org/"]
    assert check_links(urls, probe) == []
    assert asked == ["https://a.example.org/"]


def test_rendered_type_is_what_lint_reads():
    # A hand-made Rendered with nothing in it reports the missing parts rather than crashing.
    found = codes(lint_digest(english_digest(), Rendered("s", "", ""), settings(), NOW))
    assert {"no_text_part", "no_html_part", "no_unsubscribe"} <= found
