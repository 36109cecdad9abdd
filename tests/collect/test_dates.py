"""Dates as English and Norwegian feeds and pages print them, read into UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.collect.dates import parse_date


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO 8601
        ("2025-03-12T14:30:00Z", utc(2025, 3, 12, 14, 30)),
        ("2025-03-12T14:30:00+01:00", utc(2025, 3, 12, 13, 30)),
        ("2025-03-12T14:30:00.000+0100", utc(2025, 3, 12, 13, 30)),
        ("2025-03-12 14:30", utc(2025, 3, 12, 13, 30)),  # naive: Oslo, CET in March
        ("2025-07-12T14:30:00", utc(2025, 7, 12, 12, 30)),  # naive: Oslo, CEST in July
        ("2025-03-12", utc(2025, 3, 11, 23, 0)),  # a bare date is midnight in Oslo
        ("2025/03/12", utc(2025, 3, 11, 23, 0)),
        # RFC 822
        ("Wed, 12 Mar 2025 14:30:00 +0100", utc(2025, 3, 12, 13, 30)),
        ("Wed, 12 Mar 2025 14:30:00 GMT", utc(2025, 3, 12, 14, 30)),
        ("Wed, 12 Mar 2025 14:30:00 CEST", utc(2025, 3, 12, 12, 30)),
        ("Wed, 12 Mar 2025 14:30:00", utc(2025, 3, 12, 13, 30)),  # no zone: Oslo
        ("ons, 12 mars 2025 14:30:00 +0000", utc(2025, 3, 12, 14, 30)),
        # Norwegian
        ("12. mars 2025", utc(2025, 3, 11, 23, 0)),
        ("12 mars 2025", utc(2025, 3, 11, 23, 0)),
        ("12.03.2025", utc(2025, 3, 11, 23, 0)),
        ("12/03/2025", utc(2025, 3, 11, 23, 0)),  # day first
        ("12.03.25", utc(2025, 3, 11, 23, 0)),
        ("onsdag 12. mars 2025 kl. 14:30", utc(2025, 3, 12, 13, 30)),
        ("Publisert 1. juli 2025 kl 09.05", utc(2025, 7, 1, 7, 5)),
        ("3. des. 2024", utc(2024, 12, 2, 23, 0)),
        ("15. okt 2024", utc(2024, 10, 14, 22, 0)),
        ("2. sept. 2024", utc(2024, 9, 1, 22, 0)),
        ("17. mai 2025 klokken 12:00", utc(2025, 5, 17, 10, 0)),
        ("12.03.2025 14:30", utc(2025, 3, 12, 13, 30)),
        ("1. januar 2025", utc(2024, 12, 31, 23, 0)),
        ("28. februar 2025", utc(2025, 2, 27, 23, 0)),
        ("5. april 2025", utc(2025, 4, 4, 22, 0)),
        ("5. juni 2025", utc(2025, 6, 4, 22, 0)),
        ("5. aug 2025", utc(2025, 8, 4, 22, 0)),
        ("5. nov 2025", utc(2025, 11, 4, 23, 0)),
        # English
        ("March 12, 2025", utc(2025, 3, 11, 23, 0)),
        ("12 March 2025", utc(2025, 3, 11, 23, 0)),
        ("Mar 12, 2025", utc(2025, 3, 11, 23, 0)),
        ("Wednesday, March 12th, 2025 at 2:30 pm", utc(2025, 3, 12, 13, 30)),
        ("Posted on December 1, 2024", utc(2024, 11, 30, 23, 0)),
    ],
)
def test_parse_date(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "hello", "31.02.2025", "2025-13-01", "12 Smarch 2025", "kl. 14:30"]
)
def test_unreadable_or_impossible_dates_give_none(text: str) -> None:
    assert parse_date(text) is None


def test_results_are_aware_utc() -> None:
    found = parse_date("12. mars 2025 kl. 14:30")
    assert found is not None and found.tzinfo is UTC


def test_other_timezone_for_naive_times() -> None:
    assert parse_date("2025-03-12 14:30", tz="UTC") == utc(2025, 3, 12, 14, 30)
    assert parse_date("2025-03-12 14:30", tz="America/New_York") == utc(2025, 3, 12, 18, 30)


def test_long_text_is_bounded() -> None:
    assert parse_date("x" * 1_000_000 + " 12. mars 2025") is None  # only the head of a text is a date
