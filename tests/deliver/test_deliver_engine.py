from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.deliver.engine import (
    SendOptions,
    backoff_delay,
    check_transition,
    send_digest,
    send_test,
)
from pipeline.deliver.message import Personaliser, make_personaliser
from pipeline.deliver.providers.outbox import OutboxProvider
from pipeline.errors import IllegalTransition, PartialBatchError, ProviderError
from pipeline.types import OutgoingMessage, RecipientResult, Rendered, Subscriber
from tests.deliver.helpers import PUBLIC_URL, RENDERED, SECRET, SENDER
from tests.deliver.memory_store import MemoryDeliveryStore

DEFAULT_OPTIONS = SendOptions(batch_size=10, backoff_s=1.0)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
DIGEST = 12


class SimulatedCrash(BaseException):
    """The process dies (kill -9, power cut): nothing in the engine may catch it."""


Fault = Callable[[Sequence[OutgoingMessage]], None]


class RecordingProvider:
    """Accepts what it is given and remembers it; `faults[n]` runs at call n (may raise)."""

    name = "recording"

    def __init__(self, max_batch: int = 10, faults: dict[int, Fault] | None = None) -> None:
        self.max_batch = max_batch
        self.faults = faults or {}
        self.calls = 0
        self.accepted: list[OutgoingMessage] = []

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
        self.calls += 1
        fault = self.faults.get(self.calls)
        if fault is not None:
            fault(messages)
        self.accepted.extend(messages)
        return [RecipientResult(m.message_id, m.to, "sent", provider_id=f"p{self.calls}") for m in messages]

    def counts(self) -> Counter[str]:
        return Counter(m.to for m in self.accepted)


def raise_(exc: BaseException) -> Fault:
    def fault(_messages: Sequence[OutgoingMessage]) -> None:
        raise exc

    return fault


def accept_then_crash(provider: RecordingProvider) -> Fault:
    def fault(messages: Sequence[OutgoingMessage]) -> None:
        provider.accepted.extend(messages)  # the provider took them ...
        raise SimulatedCrash  # ... and we died before writing "sent"

    return fault


def people(n: int = 30) -> list[Subscriber]:
    """n subscribers: every 10th unsubscribed, every 10th+1 bounced, every 10th+2 complained, +3 pending."""
    status = {0: "unsubscribed", 1: "bounced", 2: "complained", 3: "pending"}
    themes = [None, frozenset({"diagnostics"}), frozenset({"funding", "policy"})]
    return [
        Subscriber(
            id=i,
            email=f"p{i}@example.no",
            name=f"Person {i}",
            themes=themes[i % 3],
            status=status.get(i % 10, "active"),  # type: ignore[arg-type]
        )
        for i in range(1, n + 1)
    ]


def segment_of(sub: Subscriber) -> str:
    return "all" if sub.themes is None else "+".join(sorted(sub.themes))


class Personalisers:
    """Counts how often each segment is rendered (must be once per segment per run)."""

    def __init__(self) -> None:
        self.made: Counter[str] = Counter()

    def __call__(self, segment: str) -> Personaliser:
        self.made[segment] += 1
        rendered = Rendered(subject=f"News [{segment}]", html=RENDERED.html, text=RENDERED.text)
        return make_personaliser(rendered, secret=SECRET, public_url=PUBLIC_URL, sender=SENDER)


def run(
    store: MemoryDeliveryStore,
    provider: object,
    *,
    options: SendOptions = DEFAULT_OPTIONS,
    sleeps: list[float] | None = None,
    personalisers: Personalisers | None = None,
):  # type: ignore[no-untyped-def]
    return send_digest(
        DIGEST,
        store=store,
        provider=provider,  # type: ignore[arg-type]
        segment_of=segment_of,
        personaliser_for=personalisers or Personalisers(),
        now=lambda: NOW,
        options=options,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
    )


def active_emails(store: MemoryDeliveryStore) -> set[str]:
    return {s.email for s in store.subs.values() if s.status == "active"}


def test_every_active_subscriber_gets_one_message_and_the_others_none() -> None:
    store = MemoryDeliveryStore(people(30))
    provider = RecordingProvider()
    personalisers = Personalisers()
    report = run(store, provider, personalisers=personalisers)

    assert set(provider.counts()) == active_emails(store) and set(provider.counts().values()) == {1}
    assert (report.sent, report.failed, report.suppressed, report.uncertain, report.skipped) == (
        18,
        0,
        9,
        0,
        0,
    )
    states = store.states(DIGEST)
    assert Counter(states.values()) == {"sent": 18, "suppressed": 9}
    assert 3 not in states  # pending: no delivery at all
    assert store.row_of(DIGEST, 10).reason == "unsubscribed"
    # Each segment rendered once, and each recipient got their segment's message.
    assert personalisers.made == {"all": 1, "diagnostics": 1, "funding+policy": 1}
    by_to = {m.to: m for m in provider.accepted}
    assert by_to["p5@example.no"].subject == "News [funding+policy]"
    assert by_to["p5@example.no"].message_id == "d12.s5"
    assert dict(by_to["p5@example.no"].variables)["name"] == "Person 5"


def test_a_second_run_sends_nothing_and_says_what_it_skipped() -> None:
    store = MemoryDeliveryStore(people(30))
    provider = RecordingProvider()
    run(store, provider)
    again = run(store, provider)
    assert (again.sent, again.suppressed, again.skipped, again.batches) == (0, 0, 27, 0)
    assert set(provider.counts().values()) == {1}


def test_transient_errors_are_retried_with_the_providers_retry_after() -> None:
    store = MemoryDeliveryStore(people(10))
    busy = ProviderError("recording", "HTTP 429", status=429, transient=True, retry_after=7)
    provider = RecordingProvider(
        faults={1: raise_(busy), 2: raise_(ProviderError("recording", "500", transient=True))}
    )
    sleeps: list[float] = []
    report = run(store, provider, sleeps=sleeps)
    assert sleeps == [7, 2.0]  # Retry-After first, then the doubled backoff (second attempt)
    assert report.sent == 6 and report.stopped is None
    assert set(provider.counts().values()) == {1}


def test_backoff_doubles_and_is_capped() -> None:
    opts = SendOptions(backoff_s=2, max_backoff_s=10)
    assert [backoff_delay(a, None, opts) for a in range(4)] == [2, 4, 8, 10]
    assert backoff_delay(0, 3600, opts) == 10


def test_a_provider_that_stays_down_stops_the_send_and_a_rerun_finishes_it() -> None:
    store = MemoryDeliveryStore(people(30))
    down = ProviderError("recording", "HTTP 503", transient=True)
    provider = RecordingProvider(faults={n: raise_(down) for n in range(2, 7)})
    report = run(store, provider, options=SendOptions(batch_size=10, max_attempts=5, backoff_s=0.1))

    assert report.stopped and "gave up after 5 attempts" in report.stopped
    assert report.sent == 6 and report.queued == 12
    assert Counter(store.states(DIGEST).values()) == {"sent": 6, "queued": 12, "suppressed": 9}

    resumed = run(store, provider)
    assert (resumed.sent, resumed.skipped, resumed.stopped) == (12, 15, None)
    assert set(provider.counts()) == active_emails(store) and set(provider.counts().values()) == {1}


def test_a_crash_between_submitted_and_sent_is_reported_uncertain_never_resent() -> None:
    store = MemoryDeliveryStore(people(30))
    provider = RecordingProvider()
    provider.faults = {2: accept_then_crash(provider)}
    with pytest.raises(SimulatedCrash):
        run(store, provider)
    assert Counter(store.states(DIGEST).values())["submitted"] == 6

    after = run(store, provider)
    assert after.uncertain == 6 and after.sent == 6 and after.skipped == 15
    # Every active subscriber holds exactly one accepted message; the suppressed ones none.
    assert set(provider.counts()) == active_emails(store) and set(provider.counts().values()) == {1}
    assert Counter(store.states(DIGEST).values()) == {"sent": 12, "uncertain": 6, "suppressed": 9}
    left = [r for r in store.rows.values() if r.state == "uncertain"]
    assert {r.reason for r in left} == {"left submitted by an interrupted send"}

    third = run(store, provider)
    assert (third.sent, third.uncertain) == (0, 6)
    assert set(provider.counts().values()) == {1}


def test_resend_uncertain_sends_them_again_on_request(tmp_path: Path) -> None:
    # The outbox is idempotent per message id, so even a resend leaves one file per subscriber.
    store = MemoryDeliveryStore(people(30))
    outbox = OutboxProvider(tmp_path, SENDER)

    class CrashingOutbox:
        name, max_batch, calls = "outbox", 10, 0

        def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
            self.calls += 1
            results = outbox.send_batch(messages)
            if self.calls == 1:
                raise SimulatedCrash
            return results

    with pytest.raises(SimulatedCrash):
        run(store, CrashingOutbox())
    report = run(store, outbox, options=SendOptions(batch_size=10, resend_uncertain=True))
    assert report.uncertain == 0 and report.sent == 18
    assert sorted(p.name for p in tmp_path.glob("*.eml")) == sorted(
        f"d12.s{s.id}.eml" for s in store.subs.values() if s.status == "active"
    )


def test_an_uncertain_batch_is_not_retried_and_the_send_goes_on() -> None:
    store = MemoryDeliveryStore(people(30))
    lost = ProviderError("recording", "connection reset after sending", uncertain=True)
    provider = RecordingProvider(faults={1: raise_(lost)})
    report = run(store, provider)
    assert report.uncertain == 6 and report.sent == 12 and len(report.uncertain_ids) == 6
    assert provider.calls == 3


def test_partial_batch_results_are_kept_and_only_the_rest_retried() -> None:
    store = MemoryDeliveryStore(people(10))
    provider = RecordingProvider()

    def half_then_busy(messages: Sequence[OutgoingMessage]) -> None:
        done = [RecipientResult(m.message_id, m.to, "sent") for m in messages[:3]]
        provider.accepted.extend(messages[:3])
        raise PartialBatchError(ProviderError("recording", "503", transient=True), tuple(done))

    provider.faults = {1: half_then_busy}
    report = run(store, provider)
    assert report.sent == 6 and set(provider.counts().values()) == {1}


def test_per_recipient_failures_are_recorded_with_the_reason() -> None:
    store = MemoryDeliveryStore(people(10))

    class Refusing(RecordingProvider):
        def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
            return [
                RecipientResult(m.message_id, m.to, "failed", reason="550 no such user")
                if m.to == "p5@example.no"
                else RecipientResult(m.message_id, m.to, "sent")
                for m in messages
            ]

    report = run(store, Refusing())
    assert report.failed == 1 and report.failures == (("p5@example.no", "550 no such user"),)
    assert store.row_of(DIGEST, 5).state == "failed" and store.row_of(DIGEST, 5).reason == "550 no such user"


def test_a_result_the_provider_forgot_is_uncertain() -> None:
    store = MemoryDeliveryStore(people(10))

    class Forgetful(RecordingProvider):
        def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]:
            return super().send_batch(messages)[1:]

    report = run(store, Forgetful())
    # One message forgotten per batch (one batch per segment here).
    assert report.sent == 3 and report.uncertain == 3


def test_a_fatal_error_leaves_the_batch_queued() -> None:
    store = MemoryDeliveryStore(people(10))
    provider = RecordingProvider(
        faults={1: raise_(ProviderError("recording", "HTTP 401 bad key", status=401))}
    )
    report = run(store, provider)
    assert report.stopped == "recording: HTTP 401 bad key" and report.sent == 0 and report.queued == 6
    assert store.row_of(DIGEST, 6).state == "queued" and "401" in (store.row_of(DIGEST, 6).reason or "")


def test_who_unsubscribed_since_the_rows_were_made_is_suppressed() -> None:
    store = MemoryDeliveryStore(people(10))
    run(store, RecordingProvider(faults={1: raise_(ProviderError("recording", "bad key"))}))
    store.set_status(5, "unsubscribed")
    provider = RecordingProvider()
    report = run(store, provider)
    assert "p5@example.no" not in provider.counts()
    assert store.row_of(DIGEST, 5).state == "suppressed" and report.suppressed == 1 and report.sent == 5


def test_rate_limit_spaces_batches_by_the_clock() -> None:
    store = MemoryDeliveryStore(people(30))
    clock = [0.0]
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        clock[0] += s

    report = send_digest(
        DIGEST,
        store=store,
        provider=RecordingProvider(max_batch=100),
        segment_of=segment_of,
        personaliser_for=Personalisers(),
        now=lambda: NOW,
        options=SendOptions(batch_size=100, rate_per_second=4),
        sleep=sleep,
        monotonic=lambda: clock[0],
    )
    # 18 messages at 4 a second, in bursts of at most one second's worth (4, then 2 ends a segment).
    assert report.sent == 18 and report.batches == 6
    assert sleeps == [1.0, 0.5, 1.0, 0.5, 1.0]


def test_the_status_machine_refuses_illegal_moves() -> None:
    check_transition("queued", "submitted")
    check_transition("uncertain", "sent")
    for old, new in [
        ("sent", "queued"),
        ("queued", "sent"),
        ("suppressed", "queued"),
        ("failed", "submitted"),
    ]:
        with pytest.raises(IllegalTransition):
            check_transition(old, new)  # type: ignore[arg-type]


def test_test_sends_are_prefixed_and_recorded_apart() -> None:
    store = MemoryDeliveryStore(people(10))
    provider = RecordingProvider()
    report = send_test(
        DIGEST,
        ["editor@example.org", " desk@example.org", "editor@example.org"],
        store=store,
        provider=provider,
        personaliser=Personalisers()("all"),
        now=lambda: NOW,
    )
    assert report.test and report.sent == 2
    assert [m.subject for m in provider.accepted] == ["[TEST] News [all]"] * 2
    assert [r.to for _, r in store.test_sends] == ["editor@example.org", "desk@example.org"]
    assert store.rows == {}  # no delivery rows: a later real send is unaffected
