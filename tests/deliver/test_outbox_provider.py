from __future__ import annotations

import email
import email.policy
import os
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.deliver.providers import make_provider
from pipeline.deliver.providers.outbox import OutboxProvider, eml_name
from pipeline.errors import ConfigError, PartialBatchError
from pipeline.types import DeliverySettings, ProviderSettings
from tests.deliver.helpers import SENDER, message


def test_one_eml_per_message_that_parses_back(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path / "outbox", SENDER)
    results = outbox.send_batch([message(1), message(2, name="Åse")])

    assert [r.status for r in results] == ["sent", "sent"]
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert files == ["d1.s1.eml", "d1.s2.eml"]
    parsed = email.message_from_bytes(
        (tmp_path / "outbox" / "d1.s2.eml").read_bytes(), policy=email.policy.default
    )
    assert parsed["To"] == "reader2@example.no"
    assert parsed["X-Pipeline-Message-Id"] == "d1.s2"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["List-Unsubscribe"].startswith("<https://news.example.org/unsubscribe/")
    body = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Hei Åse!" in body
    assert parsed.get_body(("html",)) is not None


def test_a_message_already_in_the_outbox_is_not_written_twice(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path, SENDER)
    outbox.send_batch([message(1)])
    path = tmp_path / "d1.s1.eml"
    first = path.read_bytes()
    os.utime(path, (1, 1))
    again = outbox.send_batch([message(1)])
    assert again[0].status == "sent"
    assert path.read_bytes() == first and path.stat().st_mtime == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


def test_unsafe_message_ids_get_distinct_safe_names() -> None:
    a, b = eml_name("<a/b@x>"), eml_name("<a_b@x>")
    assert a != b and "/" not in a and a.endswith(".eml")


def test_a_write_error_stops_without_losing_earlier_results(tmp_path: Path) -> None:
    outbox = OutboxProvider(tmp_path, SENDER)
    too_long = replace(message(3), message_id="x" * 300)  # the file system refuses the name
    with pytest.raises(PartialBatchError) as info:
        outbox.send_batch([message(1), too_long, message(2)])
    assert [r.message_id for r in info.value.done] == ["d1.s1"]  # type: ignore[attr-defined]
    assert not info.value.transient and not info.value.uncertain
    assert not (tmp_path / "d1.s2.eml").exists()


def test_factory_builds_the_outbox_from_settings(tmp_path: Path) -> None:
    settings = DeliverySettings(outbox_dir=str(tmp_path / "o"), providers=(ProviderSettings("smtp"),))
    provider = make_provider("outbox", settings, {})
    assert provider.name == "outbox"
    provider.send_batch([message(4)])
    assert (tmp_path / "o" / "d1.s4.eml").exists()
    with pytest.raises(ConfigError, match="carrier-pigeon"):
        make_provider("carrier-pigeon", settings, {})
