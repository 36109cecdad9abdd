"""parse_listing and parse_article on recorded-style pages, with the values expected from each."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.collect.pages import parse_article, parse_listing
from pipeline.errors import ParseError
from pipeline.types import ArticleMeta, Selectors

PAGES = Path(__file__).resolve().parent.parent / "fixtures" / "pages"
NOW = datetime(2025, 3, 13, 12, 0, tzinfo=UTC)

EN_SELECTORS = Selectors(
    item="article.post",
    title="h2.entry-title",
    link="h2.entry-title a",
    date="time",
    summary=".entry-summary",
    image=".post-thumbnail img",
)
NO_SELECTORS = Selectors(item="div.nyhet", title="h3", date=".dato", summary="p.ingress")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def test_english_wordpress_category_page() -> None:
    feed = parse_listing(
        (PAGES / "listing_en.html").read_bytes(),
        url="https://oslocancercluster.no/category/news/",
        selectors=EN_SELECTORS,
        now=NOW,
    )

    assert feed.title == "News Archives - Oslo Cancer Cluster"
    assert feed.link == "https://oslocancercluster.no/category/news/"
    assert feed.language == "en"
    assert feed.warnings == ()
    members, crosslinks, kickoff = feed.items
    assert members.title == "Oslo Cancer Cluster welcomes five new members"
    assert members.url == (
        "https://oslocancercluster.no/2025/03/12/five-new-members/?utm_source=newsletter&utm_campaign=march"
    )
    assert (
        members.guid == members.canonical_url == "https://oslocancercluster.no/2025/03/12/five-new-members/"
    )
    assert members.published == utc(2025, 3, 12, 13, 45, 10)  # from the datetime attribute
    assert members.image_url == (  # data-src, the src being a data: placeholder
        "https://oslocancercluster.no/wp-content/uploads/2025/03/new-members-300x169.jpg"
    )
    assert members.summary_text.startswith("Five companies working on diagnostics, cancer vaccines")
    assert members.summary_html.startswith("<p>Five companies")
    assert members.language == "en"
    assert not members.needs_article and not members.date_missing
    # A relative link, a date only in text, an image only in srcset, an event handler in the summary.
    assert crosslinks.url == "https://oslocancercluster.no/2025/03/06/cancer-crosslinks-2025/"
    assert crosslinks.published == utc(2025, 3, 5, 23, 0)
    assert (
        crosslinks.image_url
        == "https://oslocancercluster.no/wp-content/uploads/2025/03/crosslinks-300x169.png"
    )
    assert "onclick" not in crosslinks.summary_html and "Register today." in crosslinks.summary_text
    # No date: collected now, flagged, and the article page may tell more.
    assert kickoff.title == "EU project on cancer screening kicks off in Oslo"
    assert kickoff.date_missing and kickoff.published == NOW
    assert kickoff.needs_article
    assert kickoff.image_url is None


def test_norwegian_listing_in_windows_1252() -> None:
    feed = parse_listing(
        (PAGES / "listing_no.html").read_bytes(),
        url="https://forskning.example.no/nyheter/",
        selectors=NO_SELECTORS,
        now=NOW,
    )

    assert feed.title == "Nyheter – Kreftforskning i Oslo"
    assert feed.language == "no"
    vaccine, millions, seminar = feed.items
    assert vaccine.title == "Ny kreftvaksine testes på pasienter ved Radiumhospitalet"
    assert vaccine.url == "https://forskning.example.no/nyheter/ny-kreftvaksine-testes"
    assert vaccine.published == utc(2025, 3, 12, 13, 30)  # "Publisert 12. mars 2025 kl. 14:30"
    assert vaccine.summary_text == (
        "Forskerne håper vaksinen kan lære immunforsvaret å gjenkjenne kreftceller hos pasienter med "
        "føflekkreft."
    )
    assert vaccine.image_url == "https://forskning.example.no/bilder/vaksine-liten.jpg"  # no image selector
    assert vaccine.language == "no"
    assert not vaccine.needs_article
    assert millions.published == utc(2025, 2, 2, 23, 0)  # "3. feb. 2025"
    assert millions.summary_text == "" and millions.needs_article  # no summary
    assert millions.image_url == "https://forskning.example.no/bilder/presisjon.jpg"  # data-src
    assert seminar.date_missing and seminar.needs_article
    assert feed.warnings == ("listing entry 'Uten lenke' skipped: no link found with selector 'a'",)


def test_item_selector_matching_nothing_names_the_selector() -> None:
    with pytest.raises(ParseError) as info:
        parse_listing(
            (PAGES / "listing_en.html").read_bytes(),
            url="https://oslocancercluster.no/category/news/",
            selectors=Selectors(item="article.news-item", title="h2"),
            now=NOW,
        )
    assert str(info.value) == (
        "https://oslocancercluster.no/category/news/: no element matched item selector 'article.news-item'; "
        "the page layout may have changed"
    )


def test_title_selector_matching_nothing_names_the_selector() -> None:
    with pytest.raises(
        ParseError, match="no element matched title selector 'h4.headline' inside any 'div.nyhet'"
    ):
        parse_listing(
            (PAGES / "listing_no.html").read_bytes(),
            url="https://forskning.example.no/nyheter/",
            selectors=Selectors(item="div.nyhet", title="h4.headline"),
            now=NOW,
        )


def test_invalid_css_is_a_parse_error_naming_the_selector() -> None:
    with pytest.raises(ParseError, match=re.escape("the item selector 'article[' is not valid CSS")):
        parse_listing(
            b"<html></html>",
            url="https://a.example/",
            selectors=Selectors(item="article[", title="h2"),
            now=NOW,
        )


def test_optional_selector_matching_nothing_is_a_warning() -> None:
    feed = parse_listing(
        (PAGES / "listing_no.html").read_bytes(),
        url="https://forskning.example.no/nyheter/",
        selectors=Selectors(item="div.nyhet", title="h3", date="time.published"),
        now=NOW,
    )
    assert "the date selector 'time.published' matched nothing in any item" in feed.warnings
    assert all(i.date_missing and i.needs_article for i in feed.items)


def test_item_that_is_itself_a_link_and_duplicate_teasers() -> None:
    html = b"""<html lang="en"><body><base href="https://cdn.example.com/site/">
    <a class="card" href="news/1?utm_source=x"><h3>Same story</h3></a>
    <a class="card" href="news/1"><h3>Same story again</h3></a>
    <a class="card" href="news/2"><h3>Second story</h3></a></body></html>"""

    feed = parse_listing(
        html, url="https://example.com/", selectors=Selectors(item="a.card", title="h3"), now=NOW
    )
    assert [(i.title, i.url) for i in feed.items] == [
        ("Same story", "https://cdn.example.com/site/news/1?utm_source=x"),
        ("Second story", "https://cdn.example.com/site/news/2"),
    ]


def test_source_language_when_the_text_is_too_short_to_tell() -> None:
    html = b"<html><body><div class='n'><a href='/a'>Lytix Biopharma</a></div></body></html>"
    feed = parse_listing(
        html,
        url="https://a.example/",
        selectors=Selectors(item="div.n", title="a"),
        now=NOW,
        source_language="no",
    )
    assert feed.items[0].language == "no"
    assert feed.language == "no"


def test_article_opengraph_first_then_json_ld_in_graph() -> None:
    meta = parse_article(
        (PAGES / "article.html").read_bytes(),
        url="https://forskning.example.no/nyheter/ny-kreftvaksine-testes",
    )

    assert meta == ArticleMeta(
        title="Ny kreftvaksine testes ved Radiumhospitalet",
        summary=(
            "Forskerne håper vaksinen kan lære immunforsvaret å gjenkjenne kreftceller hos pasienter med "
            "føflekkreft."
        ),
        image_url="https://forskning.example.no/bilder/vaksine-stor.jpg",  # relative og:image made absolute
        published=utc(2025, 3, 12, 13, 30),
        author="Kari Nordmann, Per Hansen",  # JSON-LD author list; article:author is a URL, not a name
        language="no",  # og:locale nb_NO
    )


def test_article_json_ld_only() -> None:
    meta = parse_article(
        (PAGES / "article_jsonld.html").read_bytes(), url="https://biostart.example.com/news/car-t"
    )

    assert meta == ArticleMeta(
        title="Phase 1 study of CAR-T therapy opens",  # escaped markup in the headline is removed
        summary="The first patient has been enrolled in a phase 1 study of a CAR-T therapy for lymphoma.",
        image_url="https://biostart.example.com/img/car-t.jpg",
        published=utc(2025, 3, 11, 7, 0),
        author="Lise Berg",
        language="en",
    )


def test_article_fallbacks_and_broken_json_ld_ignored() -> None:
    meta = parse_article(
        (PAGES / "article_fallback.html").read_bytes(), url="https://hospital.example/news/1"
    )

    assert meta == ArticleMeta(
        title="Liquid biopsy trial reports first results – Example Hospital",
        summary="A blood test detected relapse months before imaging in the first 200 patients.",
        image_url=None,
        published=utc(2025, 3, 7, 9, 0),
        author="Research Communications",
        language="en",
    )


def test_article_without_any_metadata() -> None:
    assert parse_article(b"", url="https://a.example/") == ArticleMeta()
    assert parse_article(b"\x00\xff garbage", url="https://a.example/") == ArticleMeta()


def test_an_article_whose_json_ld_escapes_lone_surrogates_reads_as_clean_text() -> None:
    page = (
        b'<html><head><script type="application/ld+json">{"@type": "NewsArticle",'
        b' "headline": "Immuno\\ud800therapy news", "description": "A \\udfff summary"}</script>'
        b"</head><body><p>Body</p></body></html>"
    )
    meta = parse_article(page, url="https://example.org/a")
    assert (meta.title, meta.summary) == ("Immunotherapy news", "A summary")
