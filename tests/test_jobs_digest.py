"""The main job through the use cases, on the bundled demo samples: curate, draft, approve, send, resume."""

from __future__ import annotations

import email
import email.policy
import gc
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline import jobs
from pipeline.config import parse_config
from pipeline.deliver.providers.outbox import OutboxProvider
from pipeline.demo import DemoServer, demo_sources_yaml, read_base_config
from pipeline.errors import DigestError, IllegalTransition, LintFailed
from pipeline.store import Store
from pipeline.types import EditorDecision

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SECRET = "test-secret-key-0123456789abcdef"


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory):
    """The demo samples collected once into a database file; each test copies it."""
    folder = tmp_path_factory.mktemp("demo")
    with DemoServer(NOW) as server:
        text = demo_sources_yaml(
            server.base_url,
            server.host_port,
            base_config=read_base_config((ROOT / "sources.yaml").read_text()),
            outbox_dir=str(folder / "outbox"),
        )
        store = Store.open(f"sqlite:///{folder}/base.db", require_schema=False)
        store.upgrade()
        svc = jobs.Services(config=parse_config(text), store=store, clock=lambda: NOW, env={})
        report = jobs.collect_all(svc, force=True)
        store.close()
    assert report.new_items == 100 and not report.failed
    return folder, text


@pytest.fixture
def svc(collected, tmp_path: Path):
    folder, text = collected
    (tmp_path / "pipeline.db").write_bytes((folder / "base.db").read_bytes())
    text = text.replace(str(folder / "outbox"), str(tmp_path / "outbox"))
    store = Store.open(f"sqlite:///{tmp_path}/pipeline.db")
    services = jobs.Services(
        config=parse_config(text), store=store, clock=lambda: NOW, env={"PIPELINE_SECRET_KEY": SECRET}
    )
    yield services
    store.close()


def test_curation_tags_flags_and_groups_the_samples(svc) -> None:
    report = jobs.curate_new(svc)
    assert report.curated == 100 and report.tagged >= 90 and report.noise >= 4
    assert report.stories_told_by_several >= 4
    again = jobs.curate_new(svc)
    assert again.curated == 0  # only new or changed items are curated
    listed = {i["title"]: i for i in jobs.list_items(svc, since=datetime(2026, 11, 1, tzinfo=UTC))}
    vaccine = next(i for t, i in listed.items() if "VB10.16" in t and i["source"] == "nykode")
    assert "immuno-oncology" in vaccine["themes"]
    assert any(m["term"] for m in vaccine["evidence"]["immuno-oncology"]["matched"])
    assert {"id": "NCT04405349", "url": "https://clinicaltrials.gov/study/NCT04405349"} in vaccine["trials"]
    republished = [i for i in listed.values() if i["group"] == vaccine["group"]]
    assert len(republished) >= 2  # OCC and the incubator re-published Nykode's release
    assert any(i["noise"] for i in listed.values() if "cookie" in str(i["title"]).lower())


def test_an_editors_decision_survives_recuration(svc) -> None:
    jobs.curate_new(svc)
    item = next(i for i in jobs.list_items(svc, since=datetime(2026, 11, 1, tzinfo=UTC)) if not i["noise"])
    jobs.decide(
        svc,
        EditorDecision(
            item_id=int(item["id"]),
            action="mark_noise",
            value="off-topic for us",
            editor="editor@example.org",
        ),
    )
    jobs.curate_new(svc, everything=True)
    after = next(
        i for i in jobs.list_items(svc, since=datetime(2026, 11, 1, tzinfo=UTC)) if i["id"] == item["id"]
    )
    assert after["noise"] == "off-topic for us"


def test_a_decision_made_while_a_batch_runs_is_not_lost_to_the_batchs_older_result(svc) -> None:
    item = svc.store.items.list()[0]
    made: list[int] = []

    def decide_meanwhile(done: int, total: int) -> None:
        # Called when a chunk is curated and before it is stored, as an editor in the web UI could.
        if not made:
            made.append(item.id)
            jobs.decide_in_words(svc, item.id, "noise", "covered last week", editor="anna@example.org")

    jobs.curate_new(svc, everything=True, on_progress=decide_meanwhile)
    assert made == [item.id]
    assert jobs.item_view(svc, item.id)["noise"] == "covered last week"


def test_an_editors_noise_mark_on_a_re_publication_keeps_the_whole_story_out(svc) -> None:
    jobs.curate_new(svc)
    listed = jobs.list_items(svc, since=datetime(2026, 11, 1, tzinfo=UTC))
    vaccine = next(i for i in listed if "VB10.16" in str(i["title"]) and i["source"] == "nykode")
    copy = next(i for i in listed if i["group"] == vaccine["group"] and i["id"] != vaccine["id"])

    def drafted() -> set[int]:
        return {e.item_id for e in jobs.load_digest(svc, jobs.build_draft(svc).id).all_entries()}

    assert vaccine["id"] in drafted()  # Nykode's own release leads its story
    jobs.decide_in_words(svc, int(copy["id"]), "noise", "covered last week", editor="anna@example.org")
    assert vaccine["id"] not in drafted()
    jobs.decide_in_words(svc, int(copy["id"]), "not-noise", None, editor="anna@example.org")
    assert vaccine["id"] in drafted()


def test_draft_is_refreshed_not_duplicated_and_an_approved_digest_is_left_alone(svc) -> None:
    jobs.curate_new(svc)
    first = jobs.build_draft(svc)
    again = jobs.build_draft(svc)
    assert first.created and not again.created and again.id == first.id
    digest = jobs.load_digest(svc, first.id)
    assert digest.sections and all(len(s.entries) <= 6 for s in digest.sections)
    per_member = Counter(e.member_id for e in digest.all_entries() if e.member_id)
    assert max(per_member.values()) <= 3
    titles = [e.title for e in digest.all_entries()]
    assert len(titles) == len(set(titles))  # each story once
    assert not any("cookie" in t.lower() for t in titles)
    jobs.approve(svc, first.id)
    with pytest.raises(IllegalTransition):
        svc.store.digests.edit_entry(first.id, digest.sections[0].entries[0].item_id, included=False)
    with pytest.raises(DigestError, match="the period is empty"):
        jobs.build_draft(svc)  # nothing has happened since the approved digest's end
    svc.clock = lambda: NOW + timedelta(days=1)
    later = jobs.build_draft(svc)
    assert later.id != first.id and later.period_start == NOW  # it starts where the approved one ended
    assert svc.store.digests.get(first.id).status == "approved"


def test_an_empty_draft_cannot_be_approved_or_sent(svc) -> None:
    jobs.curate_new(svc)
    empty = jobs.build_draft(
        svc, since=datetime(2020, 1, 1, tzinfo=UTC), until=datetime(2020, 1, 2, tzinfo=UTC)
    )
    with pytest.raises(LintFailed, match="empty_digest"):
        jobs.approve(svc, empty.id)
    with pytest.raises(DigestError, match="only an approved digest can be sent"):
        jobs.send(svc, empty.id)


class CrashAfter:
    """The outbox provider, killed (an exception nothing catches) after `batches` batches."""

    def __init__(self, inner: OutboxProvider, batches: int) -> None:
        self.inner, self.left = inner, batches
        self.name, self.max_batch = inner.name, 2

    def send_batch(self, messages):  # type: ignore[no-untyped-def]
        if self.left == 0:
            raise KeyboardInterrupt("killed midway")
        self.left -= 1
        return self.inner.send_batch(messages)


def test_a_send_killed_midway_resumes_and_nobody_gets_two_copies(svc, tmp_path: Path) -> None:
    jobs.curate_new(svc)
    digest = jobs.build_draft(svc)
    jobs.approve(svc, digest.id)
    for n in range(7):
        svc.store.subscribers.add(
            f"reader{n}@example.org",
            name=f"Reader {n}",
            now=NOW,
            themes=("immuno-oncology",) if n % 2 else None,
            language="no" if n == 3 else "en",
        )
    svc.store.subscribers.add("gone@example.org", now=NOW)
    svc.store.subscribers.remove("gone@example.org", NOW)
    outbox = OutboxProvider(str(tmp_path / "outbox"), svc.config.settings.delivery.sender)

    def recipients() -> Counter[str]:
        return Counter(
            email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["To"]
            for f in (tmp_path / "outbox").rglob("*.eml")
        )

    # the process dies after the second batch was marked submitted, before the provider took it
    with pytest.raises(KeyboardInterrupt):
        jobs.send(svc, digest.id, provider_instance=CrashAfter(outbox, batches=1))
    assert sum(recipients().values()) == 2
    resumed = jobs.send(svc, digest.id, provider_instance=outbox)
    assert (resumed["sent"], resumed["uncertain"], resumed["suppressed"]) == (3, 2, 0)
    assert svc.store.deliveries.count_states(digest.id) == {"sent": 5, "uncertain": 2, "suppressed": 1}
    after_resume = recipients()
    assert len(after_resume) == 5 and set(after_resume.values()) == {1}  # the uncertain two were not resent
    assert "gone@example.org" not in after_resume

    # the operator accepts the risk of a duplicate for the uncertain two: they get theirs, nobody else again
    resent = jobs.send(svc, digest.id, provider_instance=outbox, resend_uncertain=True)
    assert (resent["sent"], resent["uncertain"]) == (2, 0)
    final = recipients()
    assert len(final) == 7 and set(final.values()) == {1} and "gone@example.org" not in final
    again = jobs.send(svc, digest.id)
    assert again["sent"] == 0 and "sent already" in str(again["note"])


def test_each_message_is_personal_and_carries_one_click_unsubscribe(svc, tmp_path: Path) -> None:
    jobs.curate_new(svc)
    digest = jobs.build_draft(svc)
    jobs.approve(svc, digest.id)
    svc.store.subscribers.add(
        "kari@example.org", name="Kari", language="no", themes=("precision-medicine",), now=NOW
    )
    svc.store.subscribers.add("ada@example.org", name="Ada", now=NOW)
    report = jobs.send(svc, digest.id)
    assert report["sent"] == 2
    messages = {
        m["To"]: m
        for m in (
            email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
            for f in (tmp_path / "outbox").rglob("*.eml")
        )
    }
    kari = messages["kari@example.org"]
    assert kari["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://news.example.org/unsubscribe/" in kari["List-Unsubscribe"]
    html = next(p for p in kari.walk() if p.get_content_type() == "text/html").get_content()
    text = next(p for p in kari.walk() if p.get_content_type() == "text/plain").get_content()
    assert "Kari" in html and "[[" not in html and "[[" not in text
    assert 'lang="no"' in html or 'lang="nb"' in html
    ada_html = next(p for p in messages["ada@example.org"].walk() if p.get_content_type() == "text/html")
    assert len(ada_html.get_content()) > len(html)  # every theme, against Kari's one


def test_status_names_members_the_recent_digests_left_out(svc) -> None:
    jobs.curate_new(svc)
    digest = jobs.build_draft(svc)
    assert jobs.status(svc)["members_not_featured"] == []  # no approved digest yet: nothing to judge
    jobs.approve(svc, digest.id)
    status = jobs.status(svc)
    left_out = set(status["members_not_featured"])
    featured = {e.member_id for e in jobs.load_digest(svc, digest.id).all_entries() if e.member_id}
    assert featured and not featured & left_out
    assert "bms-norge" in left_out  # a member with no news in the samples
    assert status["last_digest"]["id"] == digest.id and status["last_digest"]["status"] == "approved"


def test_a_test_send_goes_to_the_given_addresses_only_and_is_kept_apart(svc, tmp_path: Path) -> None:
    jobs.curate_new(svc)
    digest = jobs.build_draft(svc)  # a draft may be tested before approval
    svc.store.subscribers.add("reader@example.org", now=NOW)
    report = jobs.send_test_copies(svc, digest.id, ["editor@example.org", "chief@example.org"])
    assert report["sent"] == 2 and report["test"] is True
    messages = [
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)
        for f in (tmp_path / "outbox").rglob("*.eml")
    ]
    assert sorted(m["To"] for m in messages) == ["chief@example.org", "editor@example.org"]
    assert all(m["Subject"].startswith("[TEST] ") for m in messages)
    assert svc.store.deliveries.count_states(digest.id) == {}  # real deliveries untouched
    assert svc.store.digests.get(digest.id).status == "draft"


def test_trial_identifiers_become_registry_links_in_the_digest(svc) -> None:
    from pipeline.render import render_digest

    jobs.curate_new(svc)
    digest = jobs.load_digest(svc, jobs.build_draft(svc).id)
    entry = next(e for e in digest.all_entries() if "VB10.16" in e.title)
    assert ("NCT04405349", "https://clinicaltrials.gov/study/NCT04405349") in entry.trials
    rendered = render_digest(digest, svc.config.settings)
    assert 'href="https://clinicaltrials.gov/study/NCT04405349"' in rendered.html
    assert "NCT04405349: https://clinicaltrials.gov/study/NCT04405349" in rendered.text


def test_approval_schedules_the_next_configured_send_slot() -> None:
    from pipeline.jobs.digest import next_send_slot
    from pipeline.types import DigestSettings

    weekly = DigestSettings(cadence="weekly", send_day="thursday", send_time="09:00")
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # 09:00 in Oslo
    assert next_send_slot(weekly, "Europe/Oslo", monday) == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    thursday_late = datetime(2026, 12, 3, 8, 30, tzinfo=UTC)  # past this week's slot: next week's
    assert next_send_slot(weekly, "Europe/Oslo", thursday_late) == datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    # local wall-clock time across summer time: 09:00 in Oslo is 07:00 UTC in April
    spring = datetime(2027, 3, 26, 12, 0, tzinfo=UTC)
    assert next_send_slot(weekly, "Europe/Oslo", spring) == datetime(2027, 4, 1, 7, 0, tzinfo=UTC)
    daily = DigestSettings(cadence="daily", send_time="06:30")
    assert next_send_slot(daily, "Europe/Oslo", monday) == datetime(2026, 12, 1, 5, 30, tzinfo=UTC)


def test_approve_without_a_time_waits_for_the_slot_and_the_scheduler_sends_it_then(svc) -> None:
    jobs.curate_new(svc)
    digest = jobs.build_draft(svc)
    record = jobs.approve(svc, digest.id)
    assert record.scheduled_at == datetime(
        2026, 12, 3, 8, 0, tzinfo=UTC
    )  # NOW is a Monday; send_day Thursday
    svc.store.subscribers.add("ada@example.org", now=NOW)
    assert jobs.send_scheduled(svc) == []  # not yet
    svc.clock = lambda: datetime(2026, 12, 3, 8, 1, tzinfo=UTC)
    [report] = jobs.send_scheduled(svc)
    assert report["sent"] == 1 and svc.store.digests.get(digest.id).status == "sent"


def test_a_pooled_curation_stores_what_one_process_stores(svc, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.jobs import curate as curate_job

    pending = svc.store.curations.to_curate()
    alone = jobs.curate_new(svc)
    by_one = svc.store.curations.get_many(i.id for i in pending)
    # The same items again through two forked workers, in chunks of 7, each stored as it comes back.
    monkeypatch.setattr(curate_job, "POOL_MIN_ITEMS", 1)
    monkeypatch.setattr(curate_job, "POOL_CHUNK", 7)
    progress: list[int] = []
    pooled = curate_job.curate_items(
        svc, pending, workers=2, on_progress=lambda done, _total: progress.append(done)
    )
    assert progress == sorted(progress) and progress[-1] == len(pending) and len(progress) == 15
    assert (pooled.curated, pooled.tagged, pooled.noise) == (alone.curated, alone.tagged, alone.noise)
    assert svc.store.curations.get_many(i.id for i in pending) == by_one


def test_a_curation_that_fails_midway_keeps_its_stored_chunks_and_resumes(
    svc, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.jobs import curate as curate_job

    monkeypatch.setattr(curate_job, "POOL_CHUNK", 30)
    store = svc.store.curations
    save = store.save_records
    calls = []

    def failing_save(records, now):  # the third chunk's write fails (a full disk, a killed process)
        calls.append((len(records), gc.isenabled()))
        if len(calls) == 3:
            raise OSError("disk full")
        save(records, now)

    monkeypatch.setattr(store, "save_records", failing_save)
    with pytest.raises(OSError):
        jobs.curate_new(svc)
    # The cyclic garbage collector is paused while curating, and running again after a failure.
    assert [enabled for _n, enabled in calls] == [False, False, False] and gc.isenabled()
    assert len(svc.store.curations.to_curate()) == 40  # two chunks of 30 were stored
    monkeypatch.setattr(store, "save_records", save)
    report = jobs.curate_new(svc)
    assert report.curated == 40 and svc.store.curations.to_curate() == []
    groups = svc.store.curations.groups()
    assert len(groups) == 100  # every item has its story's key, the resumed ones grouped too
    assert report.stories_told_by_several >= 4
