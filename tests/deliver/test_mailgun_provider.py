from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace

import pytest

from pipeline.deliver.providers import make_provider
from pipeline.deliver.providers.mailgun import MailgunProvider
from pipeline.deliver.tokens import read_token
from pipeline.errors import ConfigError, PartialBatchError, ProviderError
from pipeline.types import DeliverySettings, ProviderSettings, Rendered
from tests.deliver.fake_api import Answer, FakeApi, Request, mailgun_checker, parse_form
from tests.deliver.helpers import RENDERED, SECRET, SENDER, message

DOMAIN = "mg.example.org"
KEY = "key-test-123"


@pytest.fixture
def api() -> Iterator[FakeApi]:
    with FakeApi(mailgun_checker(DOMAIN, KEY)) as server:
        yield server


def _provider(api: FakeApi, key: str = KEY) -> MailgunProvider:
    settings = DeliverySettings(
        sender=SENDER,
        providers=(ProviderSettings("mailgun", (("domain", DOMAIN), ("base_url", api.base_url))),),
    )
    provider = make_provider("mailgun", settings, {"MAILGUN_API_KEY": key})
    assert isinstance(provider, MailgunProvider)
    provider.http.timeout = (2.0, 2.0)
    return provider


def _form(api: FakeApi, i: int) -> list[tuple[str, str]]:
    fields = parse_form(api.requests[i])
    assert fields is not None
    return fields


def test_batch_of_1500_goes_in_two_calls_with_the_html_once_each(api: FakeApi) -> None:
    messages = [message(i) for i in range(1, 1501)]
    results = _provider(api).send_batch(messages)

    assert len(api.requests) == 2
    assert [sum(1 for k, _ in _form(api, i) if k == "to") for i in range(2)] == [1000, 500]
    assert [sum(1 for k, _ in _form(api, i) if k == "html") for i in range(2)] == [1, 1]
    assert [r.status for r in results] == ["sent"] * 1500
    assert (
        results[0].provider_id == "<batch1@mg.example.org>"
        and results[-1].provider_id == "<batch2@mg.example.org>"
    )
    # What each recipient receives carries their own values and their own message id.
    got = {d.to: d for d in api.delivered}
    assert len(got) == 1500
    d = got["reader777@example.no"]
    assert "Hei Reader 777!" in d.html and "Hei Reader 777!" in d.text
    assert d.message_id == "d1.s777" and d.headers["X-Pipeline-Message-Id"] == "d1.s777"
    unsubscribe = d.headers["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert read_token(SECRET, "unsubscribe", unsubscribe.rsplit("/", 1)[1]).subscriber_id == 777
    assert unsubscribe in d.html
    assert d.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_names_needing_escape_get_an_escaped_html_value(api: FakeApi) -> None:
    _provider(api).send_batch([message(1, name="Tom & Jerry <TJ>"), message(2)])
    got = {d.to: d for d in api.delivered}
    assert "Hei Tom &amp; Jerry &lt;TJ&gt;!" in got["reader1@example.no"].html
    assert "Hei Tom & Jerry <TJ>!" in got["reader1@example.no"].text
    assert "Hei Reader 2!" in got["reader2@example.no"].html


def test_large_recipient_variables_mean_batches_of_500(api: FakeApi) -> None:
    big = [
        replace(message(i), variables=(*message(i).variables, ("note", "x" * 1200))) for i in range(1, 1001)
    ]
    _provider(api).send_batch(big)
    assert [sum(1 for k, _ in _form(api, i) if k == "to") for i in range(len(api.requests))] == [500, 500]


def test_each_segment_template_is_its_own_call(api: FakeApi) -> None:
    other = Rendered(
        subject="Diagnostics only", html=RENDERED.html.replace("Oslo", "Bergen"), text=RENDERED.text
    )
    _provider(api).send_batch([message(1), message(2, rendered=other), message(3)])
    subjects = [dict(_form(api, i))["subject"] for i in range(len(api.requests))]
    assert sorted(subjects) == ["Diagnostics only", "Oslo Cancer Cluster news, week 48"]
    assert sorted(d.to for d in api.delivered) == [
        "reader1@example.no",
        "reader2@example.no",
        "reader3@example.no",
    ]


def test_rate_limited_answer_is_transient_with_retry_after(api: FakeApi) -> None:
    api.fail_next(Answer(429, b'{"message":"slow down"}', {"Retry-After": "7"}))
    with pytest.raises(ProviderError) as info:
        _provider(api).send_batch([message(1)])
    assert info.value.transient and not info.value.uncertain and info.value.retry_after == 7
    assert api.delivered == []
    assert _provider(api).send_batch([message(1)])[0].status == "sent"


def test_server_error_is_transient(api: FakeApi) -> None:
    api.fail_next(Answer(500, b"oops"))
    with pytest.raises(ProviderError) as info:
        _provider(api).send_batch([message(1)])
    assert info.value.transient and info.value.status == 500


def test_dropped_connection_after_the_request_is_uncertain(api: FakeApi) -> None:
    api.fail_next(Answer(drop=True))
    with pytest.raises(ProviderError) as info:
        _provider(api).send_batch([message(1)])
    assert info.value.uncertain and not info.value.transient
    assert api.recipients() == ["reader1@example.no"]  # the fake took it, as a real provider might


def test_refused_connection_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    provider = MailgunProvider(domain=DOMAIN, api_key=KEY, sender=SENDER, base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(ProviderError) as info:
        provider.send_batch([message(1)])
    assert info.value.transient and not info.value.uncertain


def test_a_second_call_failing_keeps_the_first_calls_results(api: FakeApi) -> None:
    real = api.check
    calls: list[int] = []

    def second_call_busy(a: FakeApi, req: Request) -> Answer:
        calls.append(1)
        return real(a, req) if len(calls) == 1 else Answer(503, b"busy", {"Retry-After": "2"})

    api.check = second_call_busy
    with pytest.raises(PartialBatchError) as info:
        _provider(api).send_batch([message(i) for i in range(1, 1201)])
    # The engine must learn that the first 1,000 were accepted, or a retry would send them twice.
    assert len(info.value.done) == 1000  # type: ignore[attr-defined]
    assert info.value.transient and info.value.retry_after == 2
    assert len(api.delivered) == 1000


def test_other_client_errors_fail_the_recipients_with_the_reason(api: FakeApi) -> None:
    api.fail_next(Answer(400, b'{"message": "to parameter is not a valid address"}'))
    results = _provider(api).send_batch([message(1), message(2)])
    assert [r.status for r in results] == ["failed", "failed"]
    assert results[0].reason == "HTTP 400: to parameter is not a valid address"


def test_a_bad_key_stops_instead_of_failing_everyone(api: FakeApi) -> None:
    with pytest.raises(ProviderError) as info:
        _provider(api, key="wrong").send_batch([message(1)])
    assert info.value.status == 401 and not info.value.transient and not info.value.uncertain


def test_missing_key_or_domain_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="MAILGUN_API_KEY"):
        make_provider(
            "mailgun", DeliverySettings(providers=(ProviderSettings("mailgun", (("domain", "d"),)),)), {}
        )
    with pytest.raises(ConfigError, match="domain"):
        make_provider("mailgun", DeliverySettings(), {"MAILGUN_API_KEY": "k"})


def test_eu_base_url_is_used(api: FakeApi) -> None:
    provider = MailgunProvider(
        domain=DOMAIN, api_key=KEY, sender=SENDER, base_url="https://api.eu.mailgun.net/"
    )
    assert provider.url == "https://api.eu.mailgun.net/v3/mg.example.org/messages"
