"""parse_feed on recorded-style feeds: each fixture paired with the values a reader of the digest sees."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline.collect.feeds import parse_feed
from pipeline.errors import ParseError
from pipeline.types import ParsedFeed, ParsedItem

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"
NOW = datetime(2025, 3, 13, 12, 0, tzinfo=UTC)


def parse(name: str, url: str, **kwargs: object) -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), url=url, now=NOW, **kwargs)  # type: ignore[arg-type]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def assert_safe(item: ParsedItem) -> None:
    """What must never reach a digest from a feed."""
    lowered = item.summary_html.lower()
    for bad in ("<script", "<style", "<iframe", "<svg", "<form", "javascript:", "data:"):
        assert bad not in lowered, (bad, item.summary_html)
    assert not re.search(r"<[^>]*\son\w+\s*=", lowered), item.summary_html
    assert "<" not in item.title and "<" not in item.summary_text


# --- well-formed feeds --------------------------------------------------------------------------------


def test_rss2_items_links_dates_and_tracking_free_canonical_url() -> None:
    feed = parse("rss2.xml", "https://www.nykode.com/news/feed.xml")

    assert feed.title == "Nykode Therapeutics – News"
    assert feed.link == "https://www.nykode.com/news/"
    assert feed.language == "en"
    assert feed.warnings == ()
    assert [i.title for i in feed.items] == [
        "Nykode Therapeutics announces positive results from its phase 2 cervical cancer trial",
        "Invitation to presentation of fourth quarter 2024 results",
        "Nykode appoints new Chief Medical Officer",
    ]
    first, second, third = feed.items
    assert first.guid == "nykode-2025-0312"
    assert first.url == "https://www.nykode.com/news/phase-2-results/?utm_source=rss&utm_medium=rss&ref=feed"
    assert first.canonical_url == "https://www.nykode.com/news/phase-2-results/?ref=feed"
    assert first.published == utc(2025, 3, 12, 6, 30)
    assert first.summary_html.startswith("<p>The VB-C-02 trial met its primary endpoint.")
    assert "<strong>cancer vaccine</strong>" in first.summary_html
    assert first.summary_text.startswith("The VB-C-02 trial met its primary endpoint. Patients treated")
    assert first.language == "en"
    assert not first.date_missing
    assert second.guid == "https://www.nykode.com/news/q4-2024-presentation/"
    assert second.published == utc(2025, 2, 10, 16, 0)
    assert second.image_url == "https://www.nykode.com/media/q4-2024.jpg"  # image enclosure
    # A relative <link> resolves against the feed's URL.
    assert third.url == "https://www.nykode.com/news/new-cmo/"
    assert third.guid == third.url


def test_atom_xml_base_content_preferred_and_updated_as_fallback() -> None:
    feed = parse("atom.xml", "https://blog.example.org/research/atom.xml")

    assert feed.title == "Cancer Research Blog"
    assert feed.link == "https://blog.example.org/"
    assert feed.language == "en"
    first, second = feed.items
    assert first.title == "Precision medicine: new biomarkers for lung cancer"
    assert first.url == "https://blog.example.org/research/posts/biomarkers-lung-cancer"  # xml:base
    assert first.guid == "tag:blog.example.org,2025:post-101"
    assert first.published == utc(2025, 3, 12, 9, 0)  # <published>, not <updated>
    assert first.author is not None and first.author.startswith("Kari Nordmann")
    # The full content wins over the summary, and its relative image resolves against xml:base.
    assert "<strong>three biomarkers</strong>" in first.summary_html
    assert first.image_url == "https://blog.example.org/images/biomarkers.png"
    assert second.published == utc(2025, 3, 5, 8, 0)  # only <updated>
    assert second.author == "Ola Hansen"
    assert second.image_url is None


def test_rss1_rdf_with_dublin_core_dates() -> None:
    feed = parse("rss1.rdf", "https://institute.example.no/news.rdf")

    assert feed.title == "Institute for Cancer Research"
    assert feed.language == "en"  # dc:language en-GB
    assert [(i.title, i.url, i.published) for i in feed.items] == [
        (
            "Institute receives EU grant for immunotherapy research",
            "https://institute.example.no/news/grant-2025",
            utc(2025, 3, 11, 8, 0),
        ),
        (
            "Seminar: Liquid biopsies in clinical practice",
            "https://institute.example.no/news/seminar",
            utc(2025, 3, 2, 23, 0),  # a bare date is midnight in Oslo
        ),
    ]
    assert feed.items[0].author == "Communications Office"


def test_wordpress_content_encoded_media_content_and_footer_removed() -> None:
    feed = parse("wordpress.xml", "https://oslocancercluster.no/feed/")

    assert feed.title == "Oslo Cancer Cluster"
    assert feed.language == "en"  # en-US
    assert feed.warnings == ()
    members, crosslinks = feed.items
    assert members.title == "Oslo Cancer Cluster welcomes five new members"
    assert members.guid == "https://oslocancercluster.no/?p=41234"
    assert members.url == "https://oslocancercluster.no/2025/03/12/five-new-members/"
    assert members.published == utc(2025, 3, 12, 13, 45, 10)
    assert members.author == "Communications Team"
    assert members.image_url == "https://oslocancercluster.no/wp-content/uploads/2025/03/new-members.jpg"
    html = members.summary_html
    assert "<h2>Who are they?</h2>" in html
    assert "<li>A start-up developing liquid biopsy tests</li>" in html
    assert '<a href="https://oslocancercluster.no/members/" rel="noopener nofollow">members page</a>' in html
    assert "appeared first on" not in html and "appeared first on" not in members.summary_text
    assert "trackShare" not in html and "onclick" not in html and "style=" not in html
    assert "class=" not in html and "srcset" not in html
    assert members.summary_text.startswith("Five companies working on diagnostics, cancer vaccines")
    assert_safe(members)
    # No media:content: the first image of the content, made absolute.
    assert crosslinks.image_url == "https://oslocancercluster.no/wp-content/uploads/2025/03/crosslinks.png"
    assert crosslinks.summary_text.startswith("The programme for this year’s conference")


def test_norwegian_feed_language_dates_and_mixed_languages() -> None:
    feed = parse("norwegian.xml", "https://www.kreftforeningen.example/nyheter/feed/")

    assert feed.title == "Kreftforeningen – Nyheter"
    assert feed.language == "no"  # nb-NO
    grant, survival, english = feed.items
    assert grant.title == "Kreftforeningen gir 30 millioner kroner til forskning på immunterapi"
    assert grant.author == "Åse Øvrebø"
    assert grant.published == utc(2025, 3, 12, 13, 30)  # "ons, 12 mars 2025 14:30:00 +0100"
    assert grant.image_url == "https://www.kreftforeningen.example/bilder/immunterapi-600.jpg"  # thumbnail
    assert grant.language == "no"
    assert survival.published == utc(2025, 3, 10, 8, 15)  # "10. mars 2025 kl. 09:15", Oslo time
    assert not survival.date_missing
    assert survival.language == "no"
    # An English press release in a Norwegian feed is recognised as English by its text.
    assert english.language == "en"


def test_source_language_is_used_when_text_is_too_short_to_tell() -> None:
    data = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><link>https://a.example/</link>
    <item><title>Ultimovacs</title><link>https://a.example/1</link></item></channel></rss>"""

    assert parse_feed(data, url="https://a.example/feed", now=NOW).items[0].language is None
    feed = parse_feed(data, url="https://a.example/feed", now=NOW, source_language="no")
    assert feed.items[0].language == "no"
    assert feed.language == "no"


def test_declared_english_does_not_override_clearly_norwegian_text() -> None:
    # WordPress declares its default en-US on many Norwegian sites.
    data = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>
    <link>https://a.example/</link><language>en-US</language>
    <item><title>Regjeringen vil styrke den kliniske forskningen i sykehusene</title>
    <link>https://a.example/1</link>
    <description>Flere pasienter skal få delta i kliniske studier.</description></item>
    </channel></rss>""".encode()

    feed = parse_feed(data, url="https://a.example/feed", now=NOW)
    assert feed.language == "en"
    assert feed.items[0].language == "no"


def test_json_feed_is_read_and_its_html_sanitised() -> None:
    feed = parse("jsonfeed.json", "https://diag.example.com/feed.json")

    assert feed.title == "Diagnostics Company Newsroom"
    assert feed.link == "https://diag.example.com/"
    assert feed.language == "en"
    (item,) = feed.items
    assert item.guid == "2025-03-10-ce-mark"
    assert item.title == "CE mark granted for our cervical cancer screening test"
    assert item.summary_html == "<p>The <b>CE mark</b> allows the test to be sold in all EU countries.</p>"
    assert item.published == utc(2025, 3, 10, 8, 0)
    assert item.image_url == "https://diag.example.com/img/ce-mark.jpg"
    assert item.author == "Press Office"
    assert feed.warnings == ("entry 'An item without a URL is skipped' skipped: it has no usable link",)


# --- broken but usable --------------------------------------------------------------------------------


def test_bozo_feed_with_entries_is_used_and_the_problem_recorded() -> None:
    feed = parse("bozo_with_entries.xml", "https://startup.example.com/feed/")

    assert [i.title for i in feed.items] == [
        "Seed round of NOK 25 million closed & new board chair appointed",
        "First patient dosed in diagnostics study",
    ]
    assert len(feed.warnings) == 1
    assert feed.warnings[0].startswith(
        "the feed is not well-formed (not well-formed (invalid token) at line 9)"
    )
    assert feed.warnings[0].endswith("2 entries were read anyway")
    assert feed.items[0].summary_text == (
        "The round was led by a Nordic life science fund and will finance the first clinical study."
    )


def test_latin1_bytes_declared_utf8_are_read_as_windows_1252() -> None:
    feed = parse("latin1_declared_utf8.xml", "https://forskning.example.no/feed/")

    (item,) = feed.items
    assert item.title == "Økt overlevelse etter ny strålebehandling av lungekreft"
    assert item.summary_text == "Pasientene i studien fikk færre bivirkninger og levde lengre enn før."
    assert feed.warnings == ("the feed declares utf-8 but its bytes are not utf-8; read as windows-1252",)


def test_utf8_bytes_declared_latin1_are_read_as_utf8() -> None:
    feed = parse("utf8_declared_latin1.xml", "https://forskning.example.no/feed/")

    assert feed.title == "Forskningsnytt fra Ullevål: forskningsnytt"
    assert feed.items[0].title == "Økt overlevelse etter ny strålebehandling av lungekreft"
    assert feed.warnings == ("the feed declares ISO-8859-1 but its bytes are UTF-8; read as UTF-8",)


def test_http_charset_wins_over_xml_declaration_when_it_fits() -> None:
    data = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Blåbær</title>'
    data += "<item><title>Røde celler</title><link>https://a.example/1</link></item></channel></rss>"

    feed = parse_feed(data.encode("cp1252"), url="https://a.example/f", now=NOW, encoding="windows-1252")
    assert feed.title == "Blåbær"
    assert feed.items[0].title == "Røde celler"
    assert feed.warnings == ()


def test_entries_without_link_or_title() -> None:
    feed = parse("missing_fields.xml", "https://hospital.example.no/research/feed/")

    permalink, untitled, undated = feed.items
    assert permalink.url == "https://hospital.example.no/research/news/permalink-guid"
    assert permalink.title == "Permalink guid instead of a link"
    assert untitled.title == "Researchers at the hospital have started a clinical trial of a new…"
    assert untitled.url == "https://hospital.example.no/research/news/untitled"
    assert undated.published == NOW and undated.date_missing
    assert untitled.date_missing
    assert not permalink.date_missing
    assert feed.warnings == (
        "entry 'Opaque guid and no link' skipped: it has no usable link",
        "entry https://hospital.example.no/research/news/empty skipped: it has neither title nor summary",
    )


def test_scripts_event_handlers_and_script_urls_never_survive() -> None:
    feed = parse("hostile.xml", "https://hostile.example.com/feed/")

    assert feed.title == "Hostile Feed"
    (item,) = feed.items
    assert item.title == "Breaking: trial results"
    assert_safe(item)
    full_story = '<a href="https://hostile.example.com/full" rel="noopener nofollow">Full story</a>'
    assert full_story in item.summary_html
    assert "alert" not in item.summary_html and "alert" not in item.summary_text
    assert "display:none" not in item.summary_text
    # The entry whose link is a javascript: URL has no link at all, and its double-escaped script is gone.
    assert feed.warnings == ("entry 'Double escaped' skipped: it has no usable link",)


def test_duplicate_guids_keep_the_first_entry() -> None:
    item = "<item><title>{}</title><link>https://a.example/{}</link>"
    item += '<guid isPermaLink="false">g-1</guid></item>'
    data = f'<rss version="2.0"><channel><title>T</title>{item.format("One", 1)}{item.format("Two", 2)}'
    data += "</channel></rss>"

    feed = parse_feed(data.encode(), url="https://a.example/f", now=NOW)
    assert [i.title for i in feed.items] == ["One"]
    assert feed.warnings == ("entry 'g-1' appears twice; the first one was kept",)


def test_entry_without_guid_or_link_gets_no_item_but_missing_guid_falls_back_to_link() -> None:
    data = b"""<rss version="2.0"><channel><title>T</title>
    <item><title>Has link only</title><link>https://a.example/only-link</link></item></channel></rss>"""

    (item,) = parse_feed(data, url="https://a.example/f", now=NOW).items
    assert item.guid == "https://a.example/only-link"


# --- not feeds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.xml", "the URL returned an empty body, not a feed"),
        ("html_page.html", "the URL returned an HTML page, not a feed"),
        ("json_not_feed.json", "the URL returned JSON, not a feed (no JSON Feed version)"),
        (
            "malformed.xml",
            "the feed is not well-formed and no entry could be read from it (unclosed token at line 8)",
        ),
    ],
)
def test_documents_that_are_not_feeds_raise_a_clear_parse_error(name: str, reason: str) -> None:
    with pytest.raises(ParseError) as info:
        parse(name, "https://example.com/feed/")

    assert info.value.url == "https://example.com/feed/"
    assert str(info.value) == f"https://example.com/feed/: {reason}"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"  \n\t ", "the URL returned an empty body, not a feed"),
        (b"\xef\xbb\xbf<!-- hi -->\n<html><body>x</body></html>", "the URL returned an HTML page"),
        (b"Service Unavailable", "returned plain text, not a feed (it starts with 'Service Unavailable')"),
        (b"{not json", "the URL returned malformed JSON, not a feed"),
        (b"<?xml version='1.0'?><note><to>you</to></note>", "the document is not an RSS or Atom feed"),
    ],
)
def test_garbage_raises_parse_error(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=re.escape(reason)):
        parse_feed(body, url="https://example.com/feed/", now=NOW)


def test_valid_feed_without_entries_is_an_empty_result_not_an_error() -> None:
    data = (
        b'<rss version="2.0"><channel><title>New blog</title><link>https://a.example/</link></channel></rss>'
    )

    feed = parse_feed(data, url="https://a.example/feed", now=NOW)
    assert feed.items == () and feed.title == "New blog" and feed.warnings == ()


# --- bounded work -------------------------------------------------------------------------------------


def test_billion_laughs_is_not_expanded() -> None:
    feed = parse("billion_laughs.xml", "https://laughs.example.com/feed/")

    assert feed.title == "Laughing Feed"
    (item,) = feed.items
    assert item.title == "Entity expansion test"
    assert item.summary_text == "Body and end"
    assert "lol" not in item.summary_html and "root:" not in item.summary_html  # nor /etc/passwd
    assert feed.warnings == ("the feed declares XML entities; they were removed, not expanded",)


def test_quadratic_blowup_is_not_expanded() -> None:
    data = (FEEDS / "quadratic_blowup.xml").read_bytes()

    feed = parse_feed(data, url="https://quadratic.example.com/feed/", now=NOW)
    (item,) = feed.items
    assert item.title == "Quadratic blowup test"
    assert "AAAA" not in item.summary_html and "AAAA" not in item.summary_text
    assert sum(len(i.summary_html) + len(i.summary_text) for i in feed.items) < len(data)
    assert "the feed declares XML entities; they were removed, not expanded" in feed.warnings


def test_66000_character_author_is_capped_before_feedparser() -> None:
    # Uncapped, this field took feedparser 35 s; the cap makes it instant (this test would be slow otherwise).
    feed = parse("long_author.xml", "https://longauthor.example.com/feed/")

    (item,) = feed.items
    assert item.title == "Study shows benefit of early palliative care"
    assert item.author is not None and len(item.author) <= 200
    assert feed.warnings == ("an author field of 66,000 characters was cut to 500 before parsing",)


def test_long_title_and_summary_are_bounded() -> None:
    title = "Immunotherapy " * 2_000
    body = "<p>" + "Cancer research news. " * 20_000 + "</p>"
    data = f"""<rss version="2.0"><channel><title>T</title><item><title>{title}</title>
    <link>https://a.example/1</link><description><![CDATA[{body}]]></description></item></channel></rss>"""

    feed = parse_feed(data.encode(), url="https://a.example/f", now=NOW)
    (item,) = feed.items
    assert len(item.title) <= 1_000 and item.title.endswith("…")
    assert len(item.summary_html) <= 100_100
    assert len(item.summary_text) <= 10_000
    assert "a title of 28,000 characters was cut to 4,000 before parsing" in feed.warnings


def test_feedparser_never_opens_a_local_file_named_by_the_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # feedparser.parse(bytes) reads the file of that name when one exists; we hand it a stream instead.
    (tmp_path / "<rss>").write_text(
        '<rss version="2.0"><channel><item><title>secret</title><link>https://x.example/</link></item>'
        "</channel></rss>"
    )
    monkeypatch.chdir(tmp_path)

    # Read from the bytes, "<rss>" is a truncated feed; read from the file, it would be an item "secret".
    with pytest.raises(ParseError, match="no entry could be read"):
        parse_feed(b"<rss>", url="https://a.example/f", now=NOW)


# --- long CDATA bodies are lifted out of feedparser's way and put back ----------------------------------


def _rss(items: str, *, declaration: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        + declaration
        + '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>T</title><link>https://example.org/</link>" + items + "</channel></rss>"
    ).encode()


LONG_HTML = "<p>" + "Immunotherapy results from the phase 2 trial were presented today. " * 12 + "</p>"


def test_long_cdata_bodies_come_back_whole_and_sanitised() -> None:
    body = LONG_HTML + '<p>x <script>alert(1)</script><a href="/more" onclick="steal()">more</a></p>'
    feed = parse_feed(
        _rss(
            "<item><title>One</title><link>https://example.org/1</link>"
            f"<description><![CDATA[{body}]]></description>"
            f"<content:encoded><![CDATA[{body}<p>the end</p>]]></content:encoded></item>"
        ),
        url="https://example.org/feed",
        now=NOW,
    )
    (item,) = feed.items
    assert_safe(item)
    assert item.summary_text.count("Immunotherapy results") == 12 and item.summary_text.endswith("the end")
    assert '<a href="https://example.org/more" rel="noopener nofollow">more</a>' in item.summary_html
    assert "\ue000" not in item.summary_html + item.summary_text


def test_a_long_cdata_title_and_cp1252_punctuation_are_read_as_feedparser_would() -> None:
    title = "Results \x96 " + "a long headline " * 20  # \x96: a cp1252 en dash in a C1 control's place
    feed = parse_feed(
        _rss(f"<item><title><![CDATA[{title}]]></title><link>https://example.org/1</link></item>"),
        url="https://example.org/feed",
        now=NOW,
    )
    assert feed.items[0].title.startswith("Results – a long headline a long headline")


def test_text_that_already_holds_marker_characters_is_not_confused_with_lifted_bodies() -> None:
    feed = parse_feed(
        _rss(
            "<item><title>Odd \ue0000\ue001 title</title><link>https://example.org/1</link>"
            f"<description><![CDATA[{LONG_HTML}]]></description></item>"
        ),
        url="https://example.org/feed",
        now=NOW,
    )
    (item,) = feed.items
    assert "Immunotherapy" not in item.title and item.summary_text.startswith("Immunotherapy results")


def test_entities_are_still_defused_when_bodies_are_lifted() -> None:
    declaration = '<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    feed = parse_feed(
        _rss(
            "<item><title>Entity &b; here</title><link>https://example.org/1</link>"
            f"<description><![CDATA[{LONG_HTML} &b;]]></description></item>",
            declaration=declaration,
        ),
        url="https://example.org/feed",
        now=NOW,
    )
    (item,) = feed.items
    assert "aaaaaaaaaa" not in item.title + item.summary_text
    assert any("entities" in w for w in feed.warnings)


def test_a_relative_xml_base_resolves_against_the_feed_url() -> None:
    data = (
        b'<?xml version="1.0" encoding="utf-8"?>'
        b'<feed xmlns="http://www.w3.org/2005/Atom" xml:base="/blog/"><title>B</title>'
        b'<entry xml:base="posts/"><title>Post</title><id>urn:x:1</id><link href="first"/>'
        b"<updated>2025-03-12T10:00:00Z</updated>"
        b'<summary type="html">&lt;img src="pic.jpg"&gt; text</summary>'
        b"</entry></feed>"
    )
    (item,) = parse_feed(data, url="https://example.org/feeds/atom.xml", now=NOW).items
    assert item.url == "https://example.org/blog/posts/first"
    assert item.image_url == "https://example.org/blog/posts/pic.jpg"


# --- feedparser's content parameters, copied without deepcopy ------------------------------------------


def _raw(name: str) -> Any:
    import io

    import feedparser

    return feedparser.parse(
        io.BytesIO((FEEDS / name).read_bytes()), sanitize_html=False, resolve_relative_uris=False
    )


def _outcome(name: str) -> ParsedFeed | str:
    try:
        return parse(name, f"https://example.org/{name}")
    except ParseError as exc:
        return str(exc)


_XML_BASE_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://example.org/blog/">
  <title>Blog</title>
  <entry xml:base="posts/"><title>First</title><link href="first"/><id>urn:1</id>
    <updated>2025-03-12T10:00:00Z</updated><summary type="html">&lt;img src="pic.jpg"&gt;</summary></entry>
  <entry><title>Second</title><link href="/second"/><id>urn:2</id>
    <updated>2025-03-12T11:00:00Z</updated></entry>
</feed>"""


def test_feedparser_stand_ins_change_nothing_feedparser_or_we_return(monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain copy of content parameters and the shortcut for joining two empty base URLs give what
    feedparser's own copy.deepcopy and _urljoin give, on every fixture and a document with xml:base."""
    import copy

    import feedparser.mixin
    import feedparser.urls

    from pipeline.collect.feeds import _ShallowContentParams, _urljoin_unless_both_empty

    # installed by importing our parser
    assert feedparser.mixin.copy is _ShallowContentParams
    assert feedparser.mixin._urljoin is _urljoin_unless_both_empty
    names = sorted(p.name for p in FEEDS.iterdir())
    well_formed = ["atom.xml", "rss1.rdf", "rss2.xml", "norwegian.xml", "wordpress.xml", "hostile.xml"]

    def everything() -> tuple[object, ...]:
        based = parse_feed(_XML_BASE_FEED, url="https://example.org/feeds/atom.xml", now=NOW)
        return [_raw(n) for n in well_formed], [_outcome(n) for n in names], based

    fast = everything()
    monkeypatch.setattr(feedparser.mixin, "copy", copy)
    monkeypatch.setattr(feedparser.mixin, "_urljoin", feedparser.urls._urljoin)
    assert everything() == fast
    assert fast[2].items[0].image_url == "https://example.org/blog/posts/pic.jpg"  # xml:base still applies

    entries = fast[0][0].entries
    assert entries[0].title_detail == {**entries[0].title_detail}  # a plain copy holds the same values
    assert entries[0].title_detail is not entries[1].title_detail
    assert entries[0].title_detail is not entries[0].summary_detail


def test_other_values_are_still_deep_copied() -> None:
    from feedparser.util import FeedParserDict

    from pipeline.collect.feeds import _ShallowContentParams

    nested = FeedParserDict(type="text/html", extra=["a"])
    copied = _ShallowContentParams.deepcopy(nested)
    assert copied == nested and copied["extra"] is not nested["extra"]
    flat = FeedParserDict(type="text/plain", language=None, base="https://example.org/")
    assert (
        _ShallowContentParams.deepcopy(flat) == flat
        and type(_ShallowContentParams.deepcopy(flat)) is FeedParserDict
    )


def test_lone_surrogates_lose_no_entry_in_rss_or_json_feed() -> None:
    # A character reference to a UTF-16 surrogate is no character: feedparser's lenient parser used to
    # fail on it and the whole feed was lost. Such references become U+FFFD (as in HTML); lone
    # surrogates that JSON escapes produce are dropped from the text (as control characters are).
    rss = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<link>https://example.org/</link>"
        b"<item><title>Immuno&#xD800;therapy news</title><link>https://example.org/1</link>"
        b"<description>A &amp;#55296; summary with &#57344; kept</description></item>"
        b"<item><title>Second</title><link>https://example.org/2</link><description>ok</description></item>"
        b"</channel></rss>"
    )
    feed = parse_feed(rss, url="https://example.org/feed", now=NOW)
    assert [i.title for i in feed.items] == ["Immuno\ufffdtherapy news", "Second"]
    assert "\ue000" in feed.items[0].summary_text
    assert any("character references to no character" in w for w in feed.warnings)
    json_feed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": ['
        b'{"id": "1", "url": "https://example.org/1", "title": "Immuno\\ud800therapy news",'
        b' "content_html": "<p>A \\udfff summary</p>"},'
        b'{"id": "2", "url": "https://example.org/2", "title": "Second", "content_text": "ok"}]}'
    )
    feed = parse_feed(json_feed, url="https://example.org/feed.json", now=NOW)
    assert [(i.title, i.summary_text) for i in feed.items] == [
        ("Immunotherapy news", "A summary"),
        ("Second", "ok"),
    ]
    for parsed in (parse_feed(rss, url="https://example.org/feed", now=NOW), feed):
        for item in parsed.items:
            (item.title + item.summary_text + item.summary_html).encode("utf-8")  # a database takes it
