"""The sending engine: a status machine per delivery, a cursor, and a provider.

Listmonk's design in small: the engine sees the database only through `DeliveryStore` (a narrow
Protocol the store implements) and the outside world only through a `Provider`. It never renders:
each segment's personaliser (a function from a subscriber to their `OutgoingMessage`) is passed in.

Crash safety comes from the order of writes. A batch is marked `submitted` before the provider is
called and `sent`/`failed` after; a run that finds rows still `submitted` knows a previous run died in
between and cannot know whether the provider took them, so it marks them `uncertain` and reports them
instead of sending twice (unless told `resend_uncertain`). Everything else simply continues: queued rows
are fetched by cursor, and rows already sent are never fetched again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from pipeline.deliver.message import Personaliser
from pipeline.deliver.providers.base import Provider
from pipeline.errors import IllegalTransition, PartialBatchError, ProviderError
from pipeline.types import (
    Delivery,
    DeliveryChange,
    DeliveryState,
    NewDelivery,
    OutgoingMessage,
    RecipientResult,
    Subscriber,
)

# --- the status machine --------------------------------------------------------------------------

#: Every legal move. `submitted -> queued` is only taken when the provider provably took nothing
#: (refused before sending, or a fatal error such as a bad key); `uncertain -> queued` only when the
#: operator asks to resend; `uncertain -> sent|failed` when provider events settle the question.
TRANSITIONS: Mapping[DeliveryState, frozenset[DeliveryState]] = {
    "queued": frozenset({"submitted", "suppressed"}),
    "submitted": frozenset({"sent", "failed", "uncertain", "queued"}),
    "uncertain": frozenset({"queued", "sent", "failed"}),
    "sent": frozenset(),
    "failed": frozenset(),
    "suppressed": frozenset(),
}

SUPPRESSED_STATUSES = frozenset({"unsubscribed", "bounced", "complained"})


def check_transition(old: DeliveryState, new: DeliveryState) -> None:
    """The one gate of state changes: raises IllegalTransition for a move the machine does not allow."""
    if new not in TRANSITIONS.get(old, frozenset()):
        raise IllegalTransition(f"a delivery cannot go from {old} to {new}")


def delivery_message_id(digest_id: int, subscriber_id: int) -> str:
    """Our message id of one delivery: stable, so a resent message keeps its identity."""
    return f"d{digest_id}.s{subscriber_id}"


# --- what the engine needs from storage ------------------------------------------------------------


class DeliveryStore(Protocol):
    """The narrow interface the engine uses; `pipeline.store` implements it on SQL, tests in memory."""

    def subscribers(self) -> Iterable[Subscriber]:
        """Every subscriber, streamed (any status: the engine decides who is suppressed)."""
        ...

    def add_deliveries(self, digest_id: int, rows: Sequence[NewDelivery], at: datetime) -> int:
        """Insert rows, ignoring those whose (digest, subscriber) exists already; return how many were new."""
        ...

    def fetch_deliveries(
        self,
        digest_id: int,
        state: DeliveryState,
        *,
        limit: int,
        after_id: int = 0,
        segment: str | None = None,
    ) -> Sequence[Delivery]:
        """Rows in `state` with id > after_id (and of `segment` if given), by id, joined with subscribers."""
        ...

    def segments(self, digest_id: int, state: DeliveryState) -> Sequence[str]:
        """The distinct segments that have rows in `state`."""
        ...

    def apply_changes(self, changes: Sequence[DeliveryChange], at: datetime) -> int:
        """Apply each change only where the row is still in `from_state` (compare-and-set, one
        transaction); return how many were applied."""
        ...

    def count_states(self, digest_id: int) -> Mapping[str, int]:
        """How many rows of the digest are in each state."""
        ...

    def record_test_sends(self, digest_id: int, results: Sequence[RecipientResult], at: datetime) -> None:
        """Keep test sends apart from deliveries."""
        ...


# --- options and report ------------------------------------------------------------------------


@dataclass(frozen=True)
class SendOptions:
    batch_size: int = 500  # capped by the provider's max_batch and by one second of the rate limit
    rate_per_second: float = 0.0  # 0: no limit
    max_attempts: int = 5  # per batch, for transient errors
    backoff_s: float = 2.0  # first wait; doubles each attempt
    max_backoff_s: float = 300.0  # cap on any wait, Retry-After included
    resend_uncertain: bool = False


@dataclass(frozen=True)
class SendReport:
    """What one run did. `sent`, `failed` and `suppressed` count this run's changes; `skipped` the rows
    already final before the run; `uncertain` every row that is uncertain now (older ones included);
    `queued` the rows left for a later run when the send `stopped` early."""

    digest_id: int
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    suppressed: int = 0
    uncertain: int = 0
    queued: int = 0
    batches: int = 0
    stopped: str | None = None
    failures: tuple[tuple[str, str], ...] = ()  # (address, reason), the first 100
    uncertain_ids: tuple[str, ...] = ()  # message ids made uncertain in this run, the first 100
    test: bool = False

    def as_dict(self) -> dict[str, object]:
        return {
            "digest_id": self.digest_id,
            "sent": self.sent,
            "failed": self.failed,
            "skipped": self.skipped,
            "suppressed": self.suppressed,
            "uncertain": self.uncertain,
            "queued": self.queued,
            "batches": self.batches,
            "stopped": self.stopped,
            "failures": [list(f) for f in self.failures],
            "test": self.test,
        }


_REPORT_LIMIT = 100


class _Tally:
    """Mutable counters of one run, frozen into a SendReport at the end."""

    def __init__(self) -> None:
        self.sent = self.failed = self.suppressed = self.batches = 0
        self.failures: list[tuple[str, str]] = []
        self.uncertain_ids: list[str] = []
        self.stopped: str | None = None

    def result(self, r: RecipientResult) -> None:
        if r.status == "sent":
            self.sent += 1
        elif r.status == "failed":
            self.failed += 1
            if len(self.failures) < _REPORT_LIMIT:
                self.failures.append((r.to, r.reason or "failed"))
        elif len(self.uncertain_ids) < _REPORT_LIMIT:
            self.uncertain_ids.append(r.message_id)


# --- pacing -------------------------------------------------------------------------------------


class RateLimiter:
    """At most `per_second` messages a second on average, with the clock and sleep injected."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second = per_second
        self.clock = clock
        self.sleep = sleep
        self._next: float | None = None

    def wait(self, count: int) -> None:
        """Block until `count` more messages may go."""
        if self.per_second <= 0:
            return
        now = self.clock()
        if self._next is not None and self._next > now:
            self.sleep(self._next - now)
            now = self._next
        self._next = now + count / self.per_second


def backoff_delay(attempt: int, retry_after: float | None, options: SendOptions) -> float:
    """Seconds to wait before retry number `attempt` (0-based): the provider's word first, capped."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), options.max_backoff_s)
    return min(options.backoff_s * (2**attempt), options.max_backoff_s)


# --- the send -----------------------------------------------------------------------------------


def send_digest(
    digest_id: int,
    *,
    store: DeliveryStore,
    provider: Provider,
    segment_of: Callable[[Subscriber], str],
    personaliser_for: Callable[[str], Personaliser],
    now: Callable[[], datetime],
    options: SendOptions = SendOptions(),
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> SendReport:
    """Send (or resume sending) one digest to every active subscriber, once.

    `segment_of` names a subscriber's segment (their set of themes); `personaliser_for(segment)` returns
    that segment's personaliser and is called once per segment present, so rendering stays per segment.
    """
    before = store.count_states(digest_id)
    skipped = sum(before.get(s, 0) for s in ("sent", "failed", "suppressed"))
    tally = _Tally()
    _settle_interrupted(store, digest_id, now)
    if options.resend_uncertain:
        _requeue_uncertain(store, digest_id, now)
    tally.suppressed += _create_deliveries(store, digest_id, segment_of, now)

    limiter = RateLimiter(options.rate_per_second, clock=monotonic, sleep=sleep)
    size = _batch_size(options, provider)
    for segment in sorted(store.segments(digest_id, "queued")):
        personalise = personaliser_for(segment)
        cursor = 0
        while tally.stopped is None:
            rows = store.fetch_deliveries(digest_id, "queued", limit=size, after_id=cursor, segment=segment)
            if not rows:
                break
            cursor = rows[-1].id
            _send_batch(rows, store, provider, personalise, now, options, limiter, sleep, tally)
        if tally.stopped:
            break

    after = store.count_states(digest_id)
    return SendReport(
        digest_id=digest_id,
        sent=tally.sent,
        failed=tally.failed,
        skipped=skipped,
        suppressed=tally.suppressed,
        uncertain=after.get("uncertain", 0),
        queued=after.get("queued", 0),
        batches=tally.batches,
        stopped=tally.stopped,
        failures=tuple(tally.failures),
        uncertain_ids=tuple(tally.uncertain_ids),
    )


def _batch_size(options: SendOptions, provider: Provider) -> int:
    size = max(1, min(options.batch_size, provider.max_batch))
    if options.rate_per_second > 0:
        size = min(size, max(1, int(options.rate_per_second)))  # a burst is at most one second's worth
    return size


def _settle_interrupted(store: DeliveryStore, digest_id: int, now: Callable[[], datetime]) -> None:
    """Rows a previous run left `submitted` may or may not have been taken by the provider."""
    _move_all(store, digest_id, "submitted", "uncertain", "left submitted by an interrupted send", now)


def _requeue_uncertain(store: DeliveryStore, digest_id: int, now: Callable[[], datetime]) -> None:
    _move_all(store, digest_id, "uncertain", "queued", "resent on request (--resend-uncertain)", now)


def _move_all(
    store: DeliveryStore,
    digest_id: int,
    old: DeliveryState,
    new: DeliveryState,
    reason: str,
    now: Callable[[], datetime],
) -> None:
    check_transition(old, new)
    cursor = 0
    while rows := store.fetch_deliveries(digest_id, old, limit=1000, after_id=cursor):
        cursor = rows[-1].id
        store.apply_changes([DeliveryChange(r.id, old, new, reason=reason) for r in rows], now())


def _create_deliveries(
    store: DeliveryStore, digest_id: int, segment_of: Callable[[Subscriber], str], now: Callable[[], datetime]
) -> int:
    """One row per subscriber who is active (queued) or has left (suppressed); returns new suppressed."""
    suppressed = 0
    queued: list[NewDelivery] = []
    gone: list[NewDelivery] = []

    def flush() -> int:
        created = 0
        if queued:
            store.add_deliveries(digest_id, queued, now())
        if gone:
            created = store.add_deliveries(digest_id, gone, now())
        queued.clear()
        gone.clear()
        return created

    for sub in store.subscribers():
        if sub.status == "active":
            queued.append(
                NewDelivery(sub.id, delivery_message_id(digest_id, sub.id), segment_of(sub), "queued")
            )
        elif sub.status in SUPPRESSED_STATUSES:
            mid = delivery_message_id(digest_id, sub.id)
            gone.append(NewDelivery(sub.id, mid, segment_of(sub), "suppressed", reason=sub.status))
        if len(queued) + len(gone) >= 1000:
            suppressed += flush()
    return suppressed + flush()


def _send_batch(
    rows: Sequence[Delivery],
    store: DeliveryStore,
    provider: Provider,
    personalise: Personaliser,
    now: Callable[[], datetime],
    options: SendOptions,
    limiter: RateLimiter,
    sleep: Callable[[float], None],
    tally: _Tally,
) -> None:
    # Someone who unsubscribed or bounced since the rows were created is suppressed, not sent to.
    left = [r for r in rows if r.subscriber.status != "active"]
    if left:
        changes = [DeliveryChange(r.id, "queued", "suppressed", reason=r.subscriber.status) for r in left]
        tally.suppressed += store.apply_changes(changes, now())
    live = [r for r in rows if r.subscriber.status == "active"]
    if not live:
        return
    messages = [_with_id(personalise(r.subscriber), r.message_id) for r in live]
    by_message = {r.message_id: r for r in live}

    # Write-ahead: submitted before the provider sees anything.
    applied = store.apply_changes([DeliveryChange(r.id, "queued", "submitted") for r in live], now())
    if applied != len(live):
        tally.stopped = "deliveries changed under this send: is another send of this digest running?"
        return
    limiter.wait(len(messages))
    tally.batches += 1
    _call_provider(messages, by_message, store, provider, now, options, sleep, tally)


def _with_id(m: OutgoingMessage, message_id: str) -> OutgoingMessage:
    # What dataclasses.replace does, without its per-call introspection (this runs once per recipient).
    return OutgoingMessage(message_id, m.to, m.subject, m.html, m.text, m.headers, m.variables)


def _call_provider(
    messages: list[OutgoingMessage],
    by_message: Mapping[str, Delivery],
    store: DeliveryStore,
    provider: Provider,
    now: Callable[[], datetime],
    options: SendOptions,
    sleep: Callable[[float], None],
    tally: _Tally,
) -> None:
    pending = messages
    attempt = 0
    while pending:
        try:
            results = provider.send_batch(pending)
        except ProviderError as e:
            done = (
                [r for r in e.done if isinstance(r, RecipientResult)]
                if isinstance(e, PartialBatchError)
                else []
            )
            _record(done, by_message, store, now, tally)
            answered = {r.message_id for r in done}
            pending = [m for m in pending if m.message_id not in answered]
            if not pending:
                return
            if e.uncertain:
                _record([_uncertain(m, str(e)) for m in pending], by_message, store, now, tally)
                return
            if e.transient and attempt + 1 < options.max_attempts:
                sleep(backoff_delay(attempt, e.retry_after, options))
                attempt += 1
                continue
            # The provider took none of `pending`: back to the queue, and stop the send.
            back = [
                DeliveryChange(by_message[m.message_id].id, "submitted", "queued", reason=str(e))
                for m in pending
            ]
            store.apply_changes(back, now())
            tally.stopped = str(e) if not e.transient else f"{e} (gave up after {attempt + 1} attempts)"
            return
        _record(results, by_message, store, now, tally)
        answered = {r.message_id for r in results}
        # A provider that forgets a message cannot be trusted to have skipped it.
        missing = [
            _uncertain(m, "the provider returned no result for it")
            for m in pending
            if m.message_id not in answered
        ]
        _record(missing, by_message, store, now, tally)
        return


def _uncertain(m: OutgoingMessage, reason: str) -> RecipientResult:
    return RecipientResult(message_id=m.message_id, to=m.to, status="uncertain", reason=reason)


def _record(
    results: Sequence[RecipientResult],
    by_message: Mapping[str, Delivery],
    store: DeliveryStore,
    now: Callable[[], datetime],
    tally: _Tally,
) -> None:
    changes: list[DeliveryChange] = []
    for r in results:
        row = by_message.get(r.message_id)
        if row is None:
            continue
        check_transition("submitted", r.status)
        changes.append(
            DeliveryChange(row.id, "submitted", r.status, provider_id=r.provider_id, reason=r.reason)
        )
        tally.result(r)
    if changes:
        store.apply_changes(changes, now())


# --- test sends ----------------------------------------------------------------------------------

TEST_PREFIX = "[TEST] "


def send_test(
    digest_id: int,
    addresses: Sequence[str],
    *,
    store: DeliveryStore,
    provider: Provider,
    personaliser: Personaliser,
    now: Callable[[], datetime],
    options: SendOptions = SendOptions(),
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Send the digest to a few addresses with a `[TEST]` subject, recorded apart from real deliveries."""
    stamp = int(now().timestamp())
    messages: list[OutgoingMessage] = []
    for i, address in enumerate(dict.fromkeys(a.strip() for a in addresses if a.strip())):
        msg = personaliser(Subscriber(id=0, email=address, name=""))
        messages.append(
            replace(msg, message_id=f"test.d{digest_id}.{stamp}.{i}", subject=TEST_PREFIX + msg.subject)
        )
    results: list[RecipientResult] = []
    stopped: str | None = None
    for attempt in range(options.max_attempts):
        try:
            results = provider.send_batch(messages)
            break
        except ProviderError as e:
            if isinstance(e, PartialBatchError):
                results.extend(r for r in e.done if isinstance(r, RecipientResult))
            stopped = str(e)
            if not e.transient or attempt + 1 >= options.max_attempts:
                break
            sleep(backoff_delay(attempt, e.retry_after, options))
    store.record_test_sends(digest_id, results, now())
    tally = _Tally()
    for r in results:
        tally.result(r)
    return SendReport(
        digest_id=digest_id,
        sent=tally.sent,
        failed=tally.failed,
        uncertain=len(results) - tally.sent - tally.failed,
        batches=1,
        stopped=stopped if len(results) < len(messages) else None,
        failures=tuple(tally.failures),
        test=True,
    )
