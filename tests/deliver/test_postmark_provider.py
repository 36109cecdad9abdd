from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from pipeline.deliver.providers import make_provider
from pipeline.deliver.providers.postmark import PostmarkProvider
from pipeline.errors import PartialBatchError, ProviderError
from pipeline.types import DeliverySettings, ProviderSettings
from tests.deliver.fake_api import Answer, FakeApi, Request, postmark_checker
from tests.deliver.helpers import SENDER, message

TOKEN = "pm-server-token"


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi(postmark_checker(TOKEN, inactive=frozenset({"reader3@example.no"}))) as server:
        yield server


def _provider(api: FakeApi, token: str = TOKEN) -> PostmarkProvider:
    settings = DeliverySettings(
        sender=SENDER,
        providers=(
            ProviderSettings("postmark", (("base_url", api.base_url), ("message_stream", "broadcast"))),
        ),
    )
    provider = make_provider("postmark", settings, {"POSTMARK_SERVER_TOKEN": token})
    assert isinstance(provider, PostmarkProvider)
    provider.http.timeout = (2.0, 2.0)
    return provider


def test_batches_of_500_through_the_broadcast_stream(api: FakeApi) -> None:
    results = _provider(api).send_batch([message(i) for i in range(10, 611)])
    assert [len(json.loads(r.body)) for r in api.requests] == [500, 101]
    first = json.loads(api.requests[0].body)[0]
    assert first["MessageStream"] == "broadcast"
    assert first["Metadata"] == {"pipeline_message_id": "d1.s10"}
    headers = {h["Name"]: h["Value"] for h in first["Headers"]}
    assert headers["List-Unsubscribe"].startswith("<https://news.example.org/unsubscribe/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "Hei Reader 10!" in first["HtmlBody"] and "Hei Reader 10!" in first["TextBody"]
    assert all(r.status == "sent" for r in results) and results[0].provider_id == "pm-1-0"


def test_a_200_answer_can_still_fail_one_message(api: FakeApi) -> None:
    results = _provider(api).send_batch([message(2), message(3), message(4)])
    assert [r.status for r in results] == ["sent", "failed", "sent"]
    assert results[1].to == "reader3@example.no" and (results[1].reason or "").startswith("ErrorCode 406")
    assert sorted(api.recipients()) == ["reader2@example.no", "reader4@example.no"]


def test_bad_token_stops_and_faults_are_classified(api: FakeApi) -> None:
    with pytest.raises(ProviderError) as bad:
        _provider(api, token="wrong").send_batch([message(1)])
    assert not bad.value.transient and not bad.value.uncertain
    api.fail_next(Answer(429, b"{}", {"Retry-After": "3"}), Answer(drop=True))
    with pytest.raises(ProviderError) as limited:
        _provider(api).send_batch([message(1)])
    with pytest.raises(ProviderError) as dropped:
        _provider(api).send_batch([message(1)])
    assert limited.value.transient and limited.value.retry_after == 3
    assert dropped.value.uncertain


def test_size_limit_splits_and_a_late_failure_keeps_earlier_results(api: FakeApi) -> None:
    import pipeline.deliver.providers.postmark as postmark

    old = postmark.MAX_BYTES
    postmark.MAX_BYTES = 5_000  # a few messages a call, to exercise the size split cheaply
    try:
        provider = _provider(api)
        calls = provider._calls([message(i) for i in range(20, 40)])
        assert len(calls) > 2 and all(sum(len(d) + 1 for _, d in c) + 1 <= 5_000 for c in calls)
        real = api.check
        seen: list[int] = []

        def third_call_down(a: FakeApi, req: Request) -> Answer:
            seen.append(1)
            return real(a, req) if len(seen) < 3 else Answer(500, b"down")

        api.check = third_call_down
        with pytest.raises(PartialBatchError) as info:
            provider.send_batch([message(i) for i in range(20, 40)])
        done = info.value.done  # type: ignore[attr-defined]
        assert len(done) == len(calls[0]) + len(calls[1]) and info.value.transient
    finally:
        postmark.MAX_BYTES = old
