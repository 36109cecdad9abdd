"""A reproducible corpus of realistic member feeds for the collect benchmark (no network, seeded)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

WORDS = (
    "cancer immunotherapy checkpoint inhibitor tumour patients phase trial oncology vaccine biomarker "
    "genomics "
    "sequencing precision medicine Oslo cluster hospital research funding investment study results clinical "
    "diagnostics pathology artificial intelligence data registry screening collaboration partners Norway "
    "European project consortium innovation antibody cell therapy CAR-T radiopharmaceutical board annual "
    "kreft pasienter forskning behandling studie immunterapi presisjonsmedisin sykehus"
).split()


FUNCTION_WORDS = "the of and to in for with is was on at by from that this has will".split()


def paragraph(rng: random.Random, words: int) -> str:
    """News-like English: domain words joined by the function words real sentences are made of."""
    parts = []
    for n in range(words):
        parts.append(rng.choice(WORDS))
        if n % 3 == 2:
            parts.append(rng.choice(FUNCTION_WORDS))
    text = " ".join(parts)
    return text[0].upper() + text[1:] + "."


def entry_html(rng: random.Random, feed: int, n: int) -> str:
    parts = [f"<p>{paragraph(rng, rng.randint(25, 60))}</p>" for _ in range(rng.randint(2, 7))]
    parts.insert(
        1,
        f'<p><img src="https://cdn{feed % 7}.example.org/img/{feed}-{n}.jpg" width="600" '
        f'height="400" alt="illustration"></p>',
    )
    parts.append(
        f'<p><a href="/news/{feed}/{n}/more">Read more</a> · <strong>{paragraph(rng, 6)}</strong></p>'
    )
    parts.append("<ul>" + "".join(f"<li>{paragraph(rng, 8)}</li>" for _ in range(3)) + "</ul>")
    return "".join(parts)


def make_feed(feed: int, now: datetime, *, seed: int = 1) -> bytes:
    rng = random.Random(seed * 100_003 + feed)
    entries = rng.randint(10, 50)
    items = []
    for n in range(entries):
        published = now - timedelta(hours=rng.randint(1, 24 * 60))
        items.append(
            "<item>"
            f"<title>{paragraph(rng, rng.randint(6, 14))}</title>"
            f"<link>https://member{feed}.example.org/news/{n}-{rng.randint(1000, 9999)}?utm_source=rss</link>"
            f'<guid isPermaLink="false">member{feed}-{n}</guid>'
            f"<pubDate>{format_datetime(published)}</pubDate>"
            f"<dc:creator>Communications {feed}</dc:creator>"
            f"<description><![CDATA[<p>{paragraph(rng, 40)}</p>]]></description>"
            f"<content:encoded><![CDATA[{entry_html(rng, feed, n)}]]></content:encoded>"
            f'<media:content url="https://cdn.example.org/{feed}/{n}.jpg" medium="image"/>'
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>Member {feed}</title><link>https://member{feed}.example.org/</link>"
        f"<description>News from member {feed}</description><language>en</language>"
        + "".join(items)
        + "</channel></rss>"
    ).encode("utf-8")


def make_corpus(count: int, now: datetime | None = None) -> list[bytes]:
    now = now or datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    return [make_feed(i, now) for i in range(count)]
