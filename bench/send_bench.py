"""Send benchmark: 100,000 subscribers in 3 segments through the Mailgun provider, against a loopback fake.

Prints the API calls made, recipients per second including bookkeeping (delivery rows created, batches
marked submitted then sent, one personaliser per segment, tokens signed per recipient) and peak memory.
Targets (issue 5): at most 200 API calls, the whole send in at most 10 s, peak memory under 300 MB.

    python bench/send_bench.py [--subscribers 100000] [--store memory]

`--store sql` (the default) measures the real store on a SQLite file; `--store memory` the in-memory
store of the tests, to separate the engine's cost from the database's.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline.deliver.engine import DeliveryStore, SendOptions, send_digest  # noqa: E402
from pipeline.deliver.message import make_personaliser  # noqa: E402
from pipeline.deliver.providers.mailgun import MailgunProvider  # noqa: E402
from pipeline.types import Rendered, Subscriber  # noqa: E402
from tests.deliver.fake_api import Answer, FakeApi, Request, parse_form  # noqa: E402
from tests.deliver.memory_store import MemoryDeliveryStore  # noqa: E402

DOMAIN = "mg.example.org"
KEY = "key-bench"
SEGMENTS = (None, frozenset({"immuno-oncology", "clinical-trials"}), frozenset({"funding", "policy"}))

def sql_store(subs: Iterable[Subscriber]) -> DeliveryStore:
    """The real store on a SQLite file in a temporary folder, filled with the subscribers and a digest."""
    import tempfile

    from pipeline.store import Store
    from pipeline.store.digests import EntryRecord

    folder = tempfile.mkdtemp(prefix="send-bench-")
    store = Store.open(f"sqlite:///{folder}/bench.db", require_schema=False)
    store.upgrade()
    now = datetime.now(UTC)
    store.subscribers.add_many(
        ({"email": s.email, "name": s.name, "language": s.language, "themes": s.themes} for s in subs),
        status="active", source="bench", now=now)
    digest_id, _ = store.digests.save_draft(period_start=now, period_end=now, language="en", subject="Bench",
                                            entries=list[EntryRecord](), now=now)
    assert digest_id == 1
    return store.deliveries


#: Store factories: name -> function(subscribers) -> DeliveryStore.
STORES: dict[str, Callable[[Iterable[Subscriber]], DeliveryStore]] = {
    "memory": lambda subs: MemoryDeliveryStore(subs),  # type: ignore[return-value]
    "sql": sql_store,
}


def subscribers(n: int) -> list[Subscriber]:
    return [
        Subscriber(id=i, email=f"reader{i}@example.no", name=f"Reader {i}", themes=SEGMENTS[i % 3])
        for i in range(1, n + 1)
    ]


def segment_of(sub: Subscriber) -> str:
    return "all" if sub.themes is None else "+".join(sorted(sub.themes))


def rendered_for(segment: str) -> Rendered:
    """A digest-sized HTML part (about 60 KB) with the personal tokens the renderer leaves."""
    item = (
        '<tr><td style="padding:12px 24px;font-family:Arial,sans-serif;font-size:15px;color:#1d2a33">'
        '<a href="https://example.org/news/{i}" style="color:#0b4f6c;font-weight:bold">'
        "Oslo trial {i} reports progress in checkpoint-inhibitor therapy for solid tumours</a><br>"
        '<span style="color:#5b6770;font-size:13px">Member {i} &middot; 26 November 2026</span>'
        "<p>Researchers at the cluster report early results from a phase II study with immunotherapy "
        "combined with a personalised cancer vaccine; enrolment continues in Oslo and Bergen.</p></td></tr>"
    )
    body = "".join(item.format(i=i) for i in range(120))
    html = (
        f'<!doctype html><html lang="en"><body><p>Hei [[name]]! Segment {segment}.</p>'
        '<table role="presentation">'
        f'{body}</table><p><a href="[[preferences_url]]">Preferences</a> | '
        '<a href="[[unsubscribe_url]]">Unsubscribe</a></p></body></html>'
    )
    text = (
        f"Hei [[name]]!\n\n{segment}\n\nPreferences: [[preferences_url]]\nUnsubscribe: [[unsubscribe_url]]\n"
    )
    return Rendered(subject=f"Cluster news ({segment})", html=html, text=text)


class FakeMailgun:
    """Checks each call like Mailgun would (auth, path, <= 1,000 recipients with variables for each)."""

    def __init__(self) -> None:
        self.calls = 0
        self.recipients = 0
        self.html_parts = 0

    def __call__(self, api: FakeApi, req: Request) -> Answer:
        if req.path != f"/v3/{DOMAIN}/messages" or not req.header("Authorization").startswith("Basic "):
            return Answer(401, b"Forbidden")
        fields = parse_form(req)
        if fields is None:
            return Answer(400, b'{"message": "expected a form"}')
        tos = [v for k, v in fields if k == "to"]
        variables = json.loads(next(v for k, v in fields if k == "recipient-variables"))
        if not 0 < len(tos) <= 1000 or set(variables) != set(tos) or len(req.body) > 25_000_000:
            return Answer(400, b'{"message": "bad batch"}')
        self.calls += 1
        self.recipients += len(tos)
        self.html_parts += sum(1 for k, _ in fields if k == "html")
        return Answer(200, b'{"id": "<bench@mg.example.org>", "message": "Queued. Thank you."}')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--store", choices=sorted(STORES), default="sql")
    args = parser.parse_args()

    subs = subscribers(args.subscribers)
    store = STORES[args.store](subs)
    fake = FakeMailgun()
    renders: list[str] = []

    def personaliser_for(segment: str):  # type: ignore[no-untyped-def]
        renders.append(segment)
        return make_personaliser(
            rendered_for(segment),
            secret="bench-secret",
            public_url="https://news.example.org",
            sender="Cluster News <news@example.org>",
        )

    with FakeApi(fake) as api:
        provider = MailgunProvider(
            domain=DOMAIN, api_key=KEY, sender="Cluster News <news@example.org>", base_url=api.base_url
        )
        start = time.perf_counter()
        report = send_digest(
            1,
            store=store,
            provider=provider,
            segment_of=segment_of,
            personaliser_for=personaliser_for,
            now=lambda: datetime.now(UTC),
            options=SendOptions(batch_size=1000),
        )
        elapsed = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes

    print(f"subscribers          {args.subscribers:,} in {len(renders)} segments ({args.store} store)")
    print(f"sent                 {report.sent:,} (failed {report.failed}, uncertain {report.uncertain})")
    print(f"API calls            {fake.calls} (target <= 200); HTML parts sent {fake.html_parts}")
    print(f"recipients accepted  {fake.recipients:,}")
    print(f"send time            {elapsed:.2f} s (target <= 10 s), bookkeeping included")
    print(f"recipients/s         {report.sent / elapsed:,.0f}")
    print(
        f"peak memory (RSS)    {peak_mb:.0f} MB (target < 300 MB; the fake server and subscribers included)"
    )
    ok = fake.calls <= 200 and elapsed <= 10 and peak_mb < 300 and report.sent == args.subscribers
    print("targets              " + ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
