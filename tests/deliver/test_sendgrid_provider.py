from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest

from pipeline.deliver.providers import make_provider
from pipeline.deliver.providers.sendgrid import SendgridProvider
from pipeline.deliver.tokens import read_token
from pipeline.errors import ProviderError
from pipeline.types import DeliverySettings, ProviderSettings
from tests.deliver.fake_api import Answer, FakeApi, sendgrid_checker
from tests.deliver.helpers import SECRET, SENDER, message

KEY = "SG.test-key"


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi(sendgrid_checker(KEY, refuse=frozenset({"reader13@example.no"}))) as server:
        yield server


def _provider(api: FakeApi, key: str = KEY, clock: float | None = None) -> SendgridProvider:
    settings = DeliverySettings(
        sender=SENDER, providers=(ProviderSettings("sendgrid", (("base_url", api.base_url),)),)
    )
    provider = make_provider("sendgrid", settings, {"SENDGRID_API_KEY": key})
    assert isinstance(provider, SendgridProvider)
    provider.http.timeout = (2.0, 2.0)
    if clock is not None:
        provider.http.clock = lambda: clock
    return provider


def test_personalizations_carry_values_headers_and_our_message_id(api: FakeApi) -> None:
    results = _provider(api).send_batch([message(i) for i in range(100, 1300)])

    assert [len(json.loads(r.body)["personalizations"]) for r in api.requests] == [1000, 200]
    assert all(r.status == "sent" and r.provider_id for r in results)
    body = json.loads(api.requests[0].body)
    assert body["from"] == {"email": "news@example.org", "name": "Cluster News"}
    assert body["personalizations"][0]["custom_args"] == {"pipeline_message_id": "d1.s100"}
    got = {d.to: d for d in api.delivered}
    d = got["reader420@example.no"]
    assert "Hei Reader 420!" in d.html and "Hei Reader 420!" in d.text and "[[" not in d.html
    link = d.headers["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert read_token(SECRET, "unsubscribe", link.rsplit("/", 1)[1]).subscriber_id == 420
    assert d.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert d.message_id == "d1.s420"


def test_an_address_twice_in_a_batch_goes_in_separate_requests(api: FakeApi) -> None:
    twin = replace(message(1), message_id="d2.s1")
    results = _provider(api).send_batch([message(1), message(2), twin])
    assert [r.status for r in results] == ["sent"] * 3
    assert len(api.requests) == 2


def test_html_escaped_values_only_in_the_html_part(api: FakeApi) -> None:
    _provider(api).send_batch([message(1, name="A & B")])
    d = api.delivered[0]
    assert "Hei A &amp; B!" in d.html and "Hei A & B!" in d.text


def test_429_uses_x_ratelimit_reset(api: FakeApi) -> None:
    now = time.time()
    api.fail_next(
        Answer(429, b'{"errors":[{"message":"too many"}]}', {"X-RateLimit-Reset": str(int(now) + 30)})
    )
    with pytest.raises(ProviderError) as info:
        _provider(api, clock=int(now)).send_batch([message(1)])
    assert info.value.transient and info.value.retry_after == 30


def test_dropped_connection_is_uncertain_and_500_transient(api: FakeApi) -> None:
    api.fail_next(Answer(drop=True), Answer(502, b"bad gateway"))
    provider = _provider(api)
    with pytest.raises(ProviderError) as first:
        provider.send_batch([message(1)])
    with pytest.raises(ProviderError) as second:
        provider.send_batch([message(2)])
    assert first.value.uncertain and second.value.transient


def test_a_400_fails_the_request_with_sendgrids_reason(api: FakeApi) -> None:
    results = _provider(api).send_batch([message(12), message(13)])
    assert [r.status for r in results] == ["failed", "failed"]
    assert results[0].reason == "HTTP 400: Does not contain a valid address."


def test_a_bad_key_stops(api: FakeApi) -> None:
    with pytest.raises(ProviderError) as info:
        _provider(api, key="SG.wrong").send_batch([message(1)])
    assert info.value.status == 401 and not info.value.transient
