"""The one interface every delivery provider implements, and helpers they share.

A provider takes a batch of `OutgoingMessage`s (templates plus each recipient's values, see
`pipeline.deliver.message`) and returns one `RecipientResult` per message. Expected per-recipient
failures are results; a failure of the whole request is a `ProviderError`:

- `transient=True` (429, 5xx, connection refused or DNS before anything was sent): the engine retries,
  honouring `retry_after`;
- `uncertain=True` (the request went out and the answer was lost: reset, read timeout): the provider may
  have accepted it, so the engine never resends it blindly;
- neither (bad key, bad configuration): the engine stops and leaves the batch queued.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol, TypeVar, runtime_checkable

from pipeline.errors import PartialBatchError, ProviderError
from pipeline.types import OutgoingMessage, RecipientResult

Call = TypeVar("Call")


@runtime_checkable
class Provider(Protocol):
    name: str
    #: The most messages the engine should hand over in one call (the provider may split further).
    max_batch: int

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> list[RecipientResult]: ...


def sent(msg: OutgoingMessage, provider_id: str | None) -> RecipientResult:
    return RecipientResult(message_id=msg.message_id, to=msg.to, status="sent", provider_id=provider_id)


def failed(msg: OutgoingMessage, reason: str) -> RecipientResult:
    return RecipientResult(message_id=msg.message_id, to=msg.to, status="failed", reason=reason)


def uncertain(msg: OutgoingMessage, reason: str) -> RecipientResult:
    return RecipientResult(message_id=msg.message_id, to=msg.to, status="uncertain", reason=reason)


def template_key(msg: OutgoingMessage) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
    """What recipients of one API call must share when the provider substitutes personal values."""
    return (msg.subject, msg.html, msg.text, msg.headers)


def group_by_template(messages: Sequence[OutgoingMessage]) -> list[list[OutgoingMessage]]:
    """Messages grouped by shared template, first-seen order kept (a batch is usually one segment).

    Identity is checked before equality: messages of one segment share the very same strings, so a
    100 KB comparison per recipient is avoided.
    """
    groups: list[tuple[OutgoingMessage, list[OutgoingMessage]]] = []
    for msg in messages:
        for first, members in groups:
            if _same_template(first, msg):
                members.append(msg)
                break
        else:
            groups.append((msg, [msg]))
    return [members for _, members in groups]


def _same_template(a: OutgoingMessage, b: OutgoingMessage) -> bool:
    if a.html is b.html and a.text is b.text and a.subject is b.subject and a.headers is b.headers:
        return True
    return template_key(a) == template_key(b)


def chunks(
    items: Sequence[OutgoingMessage],
    *,
    max_count: int,
    max_bytes: int,
    size_of: Callable[[OutgoingMessage], int],
    fixed_bytes: int = 0,
) -> Iterator[list[OutgoingMessage]]:
    """Split into runs of at most `max_count` items whose summed size (plus `fixed_bytes`) stays under
    `max_bytes`. A single item that is alone too big is still yielded alone: the provider refuses it
    with a reason, which is better than dropping it silently."""
    run: list[OutgoingMessage] = []
    total = fixed_bytes
    for item in items:
        size = size_of(item)
        if run and (len(run) >= max_count or total + size > max_bytes):
            yield run
            run, total = [], fixed_bytes
        run.append(item)
        total += size
    if run:
        yield run


def send_in_calls(
    calls: Iterable[Call],
    send_call: Callable[[Call], list[RecipientResult]],
) -> list[RecipientResult]:
    """Make one API call per run of messages; when a later call fails, keep what the earlier ones got.

    Without this, a transient error on the second call would make the engine retry the first call's
    recipients too, and they would get two copies.
    """
    results: list[RecipientResult] = []
    for call in calls:
        try:
            results.extend(send_call(call))
        except ProviderError as e:
            if not results:
                raise
            raise PartialBatchError(e, tuple(results)) from e
    return results
