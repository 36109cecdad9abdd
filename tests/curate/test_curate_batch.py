"""Curating a batch: a process pool for large batches gives exactly what one process gives."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.curate.members import MemberMatcher
from pipeline.curate.noise import NoiseMatcher
from pipeline.curate.themes import ThemeMatcher
from pipeline.jobs.curate import CurationContext, curate_stream, curations_of
from pipeline.types import DigestSettings, EditorDecision, Source, StoredItem

T0 = datetime(2024, 9, 2, 8, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=3)
STORIES = [
    (
        "Nykode doses first patient in VB-C-04 trial",
        "The phase 2 study (NCT05120345) at Oslo University Hospital tests VB10.16 with pembrolizumab.",
        "en",
    ),
    (
        "Ny kreftstrategi legges fram",
        "Helse- og omsorgsministeren la i dag fram den nye kreftstrategien. Kreftimmunterapi får mer penger.",
        "no",
    ),
    ("Vacancy: laboratory engineer", "We are hiring a laboratory engineer. Apply by 1 October.", "en"),
    (
        "AI tool finds lung cancer earlier",
        "Researchers used deep learning on digitised pathology slides to predict recurrence in patients.",
        None,  # no language from the feed: detected
    ),
]


def stored(n: int) -> list[StoredItem]:
    out = []
    for i in range(1, n + 1):
        title, summary, language = STORIES[(i - 1) % len(STORIES)]
        out.append(
            StoredItem(
                id=i,
                source_id="nykode" if i % 2 else "dagens-medisin",
                guid=f"g{i}",
                url=f"https://example.org/{i}",
                canonical_url=f"https://example.org/{i}",
                title=title,
                summary_html="",
                summary_text=summary,
                published=T0 + timedelta(hours=i),
                first_seen=T0,
                language=language,  # type: ignore[arg-type]
            )
        )
    return out


@pytest.fixture(scope="module")
def ctx(matcher: ThemeMatcher, noise: NoiseMatcher) -> CurationContext:
    return CurationContext(
        themes=matcher,
        noise=noise,
        members=MemberMatcher([("nykode", ("Nykode Therapeutics", "Nykode")), ("ous", ("OUS",))]),
        sources={
            "nykode": Source(
                id="nykode", name="Nykode", kind="feed", url="https://example.org/n", member=True
            )
        },
    )


def test_the_pool_curates_as_one_process_does(ctx: CurationContext) -> None:
    items = stored(9)
    decisions = {
        2: [EditorDecision(item_id=2, action="remove_theme", value="policy", editor="kari")],
        3: [EditorDecision(item_id=3, action="unmark_noise", editor="kari")],
    }
    alone = curations_of(curate_stream(ctx, items, decisions, DigestSettings(), NOW, workers=1))
    pooled = curations_of(
        curate_stream(ctx, items, decisions, DigestSettings(), NOW, workers=2, pool_min_items=1)
    )
    assert pooled == alone
    assert [c.item_id for c in pooled] == [i.id for i in items]
    trial = pooled[0]
    assert "clinical-trials" in {t.theme for t in trial.tags}
    assert trial.trials[0][0] == "NCT05120345"
    assert "policy" not in {t.theme for t in pooled[1].tags}  # the editor's removal holds
    assert pooled[2].noise is None  # unmarked by the editor; item 7 is the same advert, still noise
    assert pooled[6].noise is not None
    assert pooled[3].language == "en"  # detected in the worker


@pytest.fixture
def other_thread() -> Iterator[None]:
    """A thread running beside the pool, as in the web app: workers are then spawned, not forked."""
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    yield
    stop.set()
    thread.join()


def test_spawned_workers_build_their_matchers(ctx: CurationContext, other_thread: None) -> None:
    items = stored(4)
    seen: list[tuple[int, int]] = []
    stream = curate_stream(
        ctx,
        items,
        {},
        DigestSettings(),
        NOW,
        workers=2,
        pool_min_items=1,
        on_progress=lambda done, total: seen.append((done, total)),
    )
    pooled = curations_of(stream)
    assert pooled == curations_of(curate_stream(ctx, items, {}, DigestSettings(), NOW, workers=1))
    assert seen[-1] == (4, 4)


def test_grouping_on_two_cores_gives_the_groups_of_one(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.curate.groups import StoryInput, group_stories, story_features
    from pipeline.jobs import curate as curate_job

    items = stored(40)  # four stories told ten times each, in two languages
    stories = [
        StoryInput(i.id, i.language, story_features(i.title, i.summary_text, i.published)) for i in items
    ]
    alone = group_stories(stories)
    assert len(set(alone.values())) < len(items)
    monkeypatch.setattr(curate_job, "PARALLEL_GROUPING_MIN", 1)
    # Other tests may leave a thread behind, which stops forking: this test forks anyway (the child
    # runs pure code).
    monkeypatch.setattr(curate_job, "_can_fork", lambda: True)
    forked: list[int] = []
    real_run = curate_job._run_in_fork

    def counting(work):  # type: ignore[no-untyped-def]
        forked.append(1)
        return real_run(work)

    monkeypatch.setattr(curate_job, "_run_in_fork", counting)
    assert curate_job.group_window(stories) == alone
    assert forked == [1]


def test_a_failed_child_leaves_the_work_to_the_parent() -> None:
    import os

    from pipeline.jobs.curate import _run_in_fork

    parent = os.getpid()

    def work() -> list[tuple[int, int]]:
        if os.getpid() != parent:
            os._exit(3)  # the child dies without an answer
        return [(1, 2)]

    assert _run_in_fork(work)() == [(1, 2)]
