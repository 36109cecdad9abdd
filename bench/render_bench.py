"""Render benchmark: a 40-item digest rendered and inlined once, then personalised for 10,000 recipients.

Prints the template render time, the premailer time, the whole `render_digest` time and personalisation
throughput (target: >= 25,000 messages/s). Run: python3 bench/render_bench.py [--recipients N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.render.email import render_digest, render_html_source  # noqa: E402
from pipeline.render.inline import inline_css  # noqa: E402
from pipeline.render.personalise import Personaliser  # noqa: E402
from pipeline.types import AlsoReported, Digest, DigestEntry, DigestSection, Settings  # noqa: E402

THEMES = ("immuno-oncology", "precision-medicine", "clinical-trials", "diagnostics", "funding", "ai")


def forty_item_digest() -> Digest:
    blurb = (
        "The consortium reports results from a first-in-human study of a personalised cancer vaccine, "
        "with immune responses in most patients and no new safety signals. "
    ) * 3
    sections = []
    n = 0
    for k, theme in enumerate(THEMES):
        entries = []
        for _ in range(7 if k < 4 else 6):
            n += 1
            entries.append(
                DigestEntry(
                    item_id=n,
                    theme=theme,
                    title=f"Headline {n}: a realistic news title about {theme}",
                    url=f"https://member{n % 9}.example.org/news/2025/03/story-{n}",
                    blurb=blurb[: 260 + (n * 37) % 200],
                    source_name=f"Member organisation {n % 9}",
                    published=datetime(2025, 3, 1 + n % 12, 9, 0, tzinfo=UTC),
                    image_url=f"https://cdn.example.org/img/{n}.jpg" if n % 2 else None,
                    image_alt=f"Illustration {n}",
                    also_reported=(AlsoReported("Oslo University Hospital", f"https://ous.example.no/n/{n}"),)
                    if n % 5 == 0
                    else (),
                    score=1.0 - n / 50,
                )
            )
        sections.append(DigestSection(theme, theme.replace("-", " ").capitalize(), tuple(entries)))
    return Digest(
        id=1,
        status="approved",
        period_start=datetime(2025, 3, 6, tzinfo=UTC),
        period_end=datetime(2025, 3, 13, tzinfo=UTC),
        language="en",
        subject="Oslo Cancer Cluster news digest",
        intro="A busy week for the cluster. " * 4,
        sections=tuple(sections),
    )


def best_of(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=10_000)
    args = parser.parse_args()

    digest = forty_item_digest()
    settings = replace(Settings(), public_url="https://news.example.org")
    render_digest(digest, settings)  # warm: templates compiled, CSS parse cached
    source = render_html_source(digest, settings)
    t_template = best_of(lambda: render_html_source(digest, settings))
    t_premailer = best_of(lambda: inline_css(source))
    t_total = best_of(lambda: render_digest(digest, settings))
    rendered = render_digest(digest, settings)

    values = [
        {
            "unsubscribe_url": f"https://news.example.org/unsubscribe/{'x' * 90}{i}",
            "preferences_url": f"https://news.example.org/preferences/{'y' * 90}{i}",
            "name": f"Recipient {i}",
            "email": f"recipient{i}@example.org",
        }
        for i in range(args.recipients)
    ]
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        personaliser = Personaliser(rendered)  # built once per digest or segment
        total = 0
        for v in values:
            html, text = personaliser.apply(v)
            total += len(html)
        runs.append(time.perf_counter() - t0)
    t_personalise = statistics.median(runs)

    print(
        f"digest: {len(digest.all_entries())} items, HTML part {len(rendered.html.encode()):,} bytes, "
        f"text part {len(rendered.text.encode()):,} bytes"
    )
    print(f"template render : {t_template * 1000:8.1f} ms")
    print(f"premailer       : {t_premailer * 1000:8.1f} ms  (once per digest or segment)")
    print(f"render_digest   : {t_total * 1000:8.1f} ms  (templates + premailer + text part)")
    print(
        f"personalise     : {t_personalise:8.3f} s for {args.recipients:,} recipients = "
        f"{args.recipients / t_personalise:,.0f} messages/s (target >= 25,000)"
    )
    print(f"premailer per recipient would cost {t_premailer * args.recipients:,.0f} s instead")


if __name__ == "__main__":
    main()
