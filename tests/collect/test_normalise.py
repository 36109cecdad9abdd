"""URLs, sanitising, plain text and language codes."""

from __future__ import annotations

import pytest

from pipeline.collect.normalise import (
    absolute_url,
    canonical_url,
    clean_text,
    html_to_text,
    normalise_language,
    plain_text,
    sanitise_html,
    sanitised_html_to_text,
)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTPS://WWW.Example.COM:443/News/Item?b=2&a=1#top", "https://www.example.com/News/Item?b=2&a=1"),
        ("http://example.com:80", "http://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        (
            "https://example.com/a?utm_source=rss&id=7&UTM_Medium=x&fbclid=abc&gclid=1&mc_cid=2&mc_eid=3&z=",
            "https://example.com/a?id=7&z=",
        ),
        ("https://example.com/a?utm_campaign=spring", "https://example.com/a"),
        ("https://Blåbær.NO/nyhet", "https://xn--blbr-roah.no/nyhet"),
        ("https://xn--blbr-roah.no/nyhet", "https://xn--blbr-roah.no/nyhet"),
        ("  https://example.com/a b\n  ", "https://example.com/a b"),
        ("not a url", "not a url"),
        ("https://[::1]:443/x", "https://[::1]/x"),
    ],
)
def test_canonical_url(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_canonical_url_is_idempotent_and_equal_for_spellings_of_one_article() -> None:
    spellings = [
        "https://www.example.com/news/1?utm_source=newsletter",
        "HTTPS://www.example.com:443/news/1#comments",
        "https://www.example.com/news/1?fbclid=IwAR0",
    ]
    assert {canonical_url(u) for u in spellings} == {"https://www.example.com/news/1"}
    assert canonical_url(canonical_url(spellings[0])) == canonical_url(spellings[0])


@pytest.mark.parametrize(
    ("href", "base", "expected"),
    [
        ("/news/1", "https://example.com/feed/", "https://example.com/news/1"),
        ("item", "https://example.com/news/", "https://example.com/news/item"),
        ("//cdn.example.com/a.jpg", "https://example.com/", "https://cdn.example.com/a.jpg"),
        ("https://other.example/x", "https://example.com/", "https://other.example/x"),
        ("  https://example.com/\n\tlong-path ", None, "https://example.com/long-path"),
        ("javascript:alert(1)", "https://example.com/", None),
        ("mailto:a@example.com", "https://example.com/", None),
        ("data:image/gif;base64,R0lGOD", "https://example.com/", None),
        ("ftp://example.com/file", None, None),
        ("", "https://example.com/", None),
        (None, "https://example.com/", None),
        ("http://[::1", None, None),
        ("/relative/without/base", None, None),
    ],
)
def test_absolute_url(href: str | None, base: str | None, expected: str | None) -> None:
    assert absolute_url(href, base) == expected


def _joined_the_long_way(href: str, base: str) -> str | None:
    """What absolute_url answered before its shortcut for path-absolute references: urljoin, then checks."""
    from urllib.parse import urljoin, urlsplit

    try:
        joined = urljoin(base, href.strip())
        parts = urlsplit(joined)
        parts.port  # noqa: B018
    except ValueError:
        return None
    return joined if parts.scheme in ("http", "https") and parts.hostname else None


def test_a_path_absolute_reference_joins_as_urljoin_would() -> None:
    import random

    bases = [
        "https://Example.ORG/a/b/c.html",
        "http://127.0.0.1:8080/feed.xml",
        "HTTP://user:pw@host.no/x/",
        "https://h.no/a;p?q#f",
        "https://h.no:99999/",
        "https:///no-host",
        "ftp://h.no/x",
        "https://[::1]/x",
        "https://h.no?x",
    ]
    pieces = ["/", "a", "Z", "9", ".", "..", "?", "#", "%2e", ";", ";p", "=", "&", "\\", " ", "é", "//", ":"]
    rng = random.Random(2)
    hrefs = ["/news/1", "/news/1?page=2#top", "/", "/a/../b", "/a/.", "/a?", "/a#", "/a;", "//cdn/x"]
    hrefs += ["/" + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) for _ in range(3000)]
    for href in hrefs:
        for base in bases:
            expected = _joined_the_long_way(href, base)
            assert absolute_url(href, base) == expected, (href, base)


def test_sanitise_keeps_the_allow_list_and_makes_urls_absolute() -> None:
    html = (
        '<h2 class="x">Result</h2><p style="color:red">A <strong>big</strong> <em>step</em>, see '
        '<a href="/more" target="_blank" title="t">more</a> or <a href="mailto:press@example.com">mail</a>.'
        '</p><img src="/i.png" alt="Chart" width="600" height="auto" loading="lazy"><h1>Top</h1>'
    )
    assert sanitise_html(html, "https://example.com/news/") == (
        "<h2>Result</h2><p>A <strong>big</strong> <em>step</em>, see "
        '<a href="https://example.com/more" rel="noopener nofollow">more</a> or '
        '<a href="mailto:press@example.com" rel="noopener nofollow">mail</a>.</p>'
        '<img src="https://example.com/i.png" alt="Chart" width="600">Top'
    )


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt&colon;alert(1)">x</a>',
        '<a href=" javascript:alert(1)">x</a>',
        "<style>p{color:red}</style>",
        '<svg onload="alert(1)"></svg>',
        '<iframe src="https://evil.example/"></iframe>',
        '<p onmouseover="alert(1)">x</p>',
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        "<scr<script>ipt>alert(1)</script>",
        '<math><mtext><table><mglyph><style><img src=x onerror="alert(1)">',
    ],
)
def test_sanitise_never_lets_script_through(html: str) -> None:
    cleaned = sanitise_html(html, "https://example.com/").lower()
    assert "<script" not in cleaned and "<style" not in cleaned and "javascript:" not in cleaned
    assert "onerror" not in cleaned and "onload" not in cleaned and "onmouseover" not in cleaned
    assert "data:" not in cleaned and "<iframe" not in cleaned and "<svg" not in cleaned


def test_html_to_text_paragraphs_entities_and_no_script_text() -> None:
    html = (
        "<p>Første&nbsp;avsnitt &amp; mer</p><script>var x = 1;</script><ul><li>En</li><li>To</li></ul>tail"
    )
    assert html_to_text(html) == "Første avsnitt & mer\n\nEn\n\nTo\n\ntail"
    assert html_to_text("Plain &lt;b&gt; text") == "Plain <b> text"
    assert html_to_text("") == ""


def test_plain_text_removes_double_escaped_markup() -> None:
    assert plain_text("&lt;script&gt;alert(1)&lt;/script&gt;Breaking <b>news</b>", 100) == "Breaking news"
    assert (
        plain_text("Studies of PD-1 &amp; PD-L1  in\n lung cancer", 100)
        == "Studies of PD-1 & PD-L1 in lung cancer"
    )


def test_clean_text_collapses_strips_controls_and_cuts_at_a_word() -> None:
    assert clean_text("  a\tb\n\nc\u00a0d\u200b ", 100) == "a b c d"
    assert clean_text("bad\x00\x07 char\u202e", 100) == "bad char"
    assert clean_text("Kreftforeningen gir millioner til forskning", 30) == "Kreftforeningen gir millioner…"
    assert clean_text("x" * 50, 10) == "x" * 9 + "…"
    assert clean_text(None, 10) == ""
    assert clean_text("e\u0301", 10) == "é"  # NFC


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("nb", "no"),
        ("nn", "no"),
        ("no", "no"),
        ("nb-NO", "no"),
        ("nb_NO", "no"),
        ("NN-no", "no"),
        ("nob", "no"),
        ("en", "en"),
        ("en-US", "en"),
        ("en_GB", "en"),
        ("EN", "en"),
        ("sv-SE", None),
        ("da", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_language(code: str | None, expected: str | None) -> None:
    assert normalise_language(code) == expected


@pytest.mark.parametrize(
    "html",
    [
        "<p>Første&nbsp;avsnitt &amp; mer</p><ul><li>En</li><li>To</li></ul>tail",
        '<p>a <img alt="x > y" src="/p.jpg"> b</p><blockquote>q \u3000 r\u200bs</blockquote><br>end',
        "<h2>Head</h2>\t\n <p> spaced   out </p><p></p><p>\x07bell \u202eflip</p>",
        "<p>&lt;b&gt;not a tag&lt;/b&gt; &#x2028;line</p><script>gone()</script><!-- gone -->",
    ],
)
def test_text_of_sanitised_html_matches_the_general_extractor(html: str) -> None:
    """The fast path for sanitiser output reads exactly what html_to_text reads."""
    cleaned = sanitise_html(html, "https://example.com/")
    assert sanitised_html_to_text(cleaned) == html_to_text(cleaned)
    assert sanitised_html_to_text(cleaned).strip()


def test_sanitising_in_threads_resolves_each_document_against_its_own_base() -> None:
    from concurrent.futures import ThreadPoolExecutor

    def clean(n: int) -> str:
        return sanitise_html(f'<a href="page{n}">x</a><img src="img{n}.png">', f"https://site{n}.example/")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(clean, range(200)))
    for n, cleaned in enumerate(results):
        assert f'href="https://site{n}.example/page{n}"' in cleaned
        assert f'src="https://site{n}.example/img{n}.png"' in cleaned


def test_sanitised_text_collapses_and_cleans_every_paragraph_as_the_general_rule_would() -> None:
    """The shortcut for printable paragraphs gives what removing control characters, then splitting and
    joining every paragraph gives."""
    import html
    import random

    from pipeline.collect import normalise

    def the_general_rule(markup: str) -> str:
        text = normalise._SANITISED_TAG.sub("", normalise._SANITISED_BLOCK.sub("\x00", markup))
        text = normalise._CONTROL_BUT_BREAK.sub("", html.unescape(text)).replace("\u200b", " ")
        return "\n\n".join(p for p in (" ".join(p.split()) for p in text.split("\x00")) if p)

    pieces = ["a", "é", " ", "  ", "\n", "\t", "\xa0", "\u200b", "\u200e", "\x01", "\x85", "\u2028", "\ufeff"]
    pieces += ["&amp;", "&#160;", "&#8203;", "&#0;", "&lt;", "<p>", "</p>", "<br>", "<strong>", "</strong>"]
    pieces += ['<a href="https://example.org/" rel="noopener nofollow">', "</a>", "<li>", "\x7f", "\x9f"]
    rng = random.Random(5)
    for _ in range(20_000):
        markup = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 10)))
        assert sanitised_html_to_text(markup) == the_general_rule(markup), repr(markup)


def test_lone_surrogates_are_dropped_from_text_and_html() -> None:
    # A JSON "\ud800" escape or a bad character reference gives a string no database stores as UTF-8.
    dirty = "<p>Immuno\ud800therapy <b>news</b>\udfff</p><p>second\udc80 paragraph</p>"
    results = [
        sanitise_html(dirty, "https://example.org/"),
        html_to_text(dirty),
        sanitised_html_to_text(sanitise_html(dirty, "https://example.org/")),
        clean_text("Immuno\ud800therapy news\udfff", 100),
    ]
    assert results == [
        "<p>Immunotherapy <b>news</b></p><p>second paragraph</p>",
        "Immunotherapy news\n\nsecond paragraph",
        "Immunotherapy news\n\nsecond paragraph",
        "Immunotherapy news",
    ]
    for text in results:
        text.encode("utf-8")  # would raise on a surrogate
