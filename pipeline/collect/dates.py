"""Reading the dates feeds and pages print, in English and Norwegian, into aware UTC datetimes.

Naive times (no offset given) are local times in `tz` (Europe/Oslo by default); a date without a time is
midnight there. Anything unreadable or impossible (31.02.2025) gives None, never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS: dict[str, int] = {
    # English
    "january": 1, "february": 2, "march": 3, "april": 4, "may": 5, "june": 6, "july": 7,
    "august": 8, "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "nov": 11, "dec": 12,
    # Norwegian (bokmål and nynorsk spell the months alike)
    "januar": 1, "februar": 2, "mars": 3, "mai": 5, "juni": 6, "juli": 7, "oktober": 10,
    "desember": 12, "okt": 10, "des": 12,
}  # fmt: skip

# Zone abbreviations that email.utils does not know but Norwegian and European feeds print.
_ZONE_ABBREVIATIONS = {"CET": "+0100", "CEST": "+0200", "MET": "+0100", "MEST": "+0200", "UTC": "+0000"}

_ZONE_ABBREVIATION = re.compile(rf"\b(?:{'|'.join(_ZONE_ABBREVIATIONS)})\b")
_RFC822_SHAPE = re.compile(r"\d{1,2}\s+[A-Za-z]{3}[a-z]*\s+\d{2,4}\s+\d{1,2}:\d{2}")

_MAX_INPUT = 200  # a date is short; longer text is not scanned in full
_TIME = (
    r"(?:\s*(?:,|kl\.?|klokken|at|@|-|–)?\s*(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::(?P<second>\d{2}))?"
    r"(?:\s*(?P<ampm>[ap]\.?m\.?))?(?:\s*(?P<offset>[+-]\d{2}:?\d{2}|Z\b|GMT\b|UTC\b))?)?"
)
_MONTH_NAME = r"(?P<month>[a-zæøå]{3,9})\.?"
_PATTERNS = [
    # 12. mars 2025, 12 mars 2025, 12 March 2025, 12. okt. 2025 kl. 14:30
    re.compile(rf"\b(?P<day>\d{{1,2}})\.?\s+{_MONTH_NAME}\s+(?P<year>\d{{4}})\b{_TIME}", re.I),
    # March 12, 2025 / Mar 12 2025 / March 12th, 2025
    re.compile(rf"\b{_MONTH_NAME}\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>\d{{4}})\b{_TIME}", re.I),
    # 2025-03-12 or 2025/03/12 (ISO order) when fromisoformat could not read the whole string
    re.compile(
        rf"\b(?P<year>\d{{4}})[-/.](?P<month>\d{{1,2}})[-/.](?P<day>\d{{1,2}})\b(?:T|\s)?{_TIME}", re.I
    ),
    # 12.03.2025, 12/03/2025, 12-03-2025, 12.03.25: day first, as in Norway and Britain
    re.compile(
        rf"\b(?P<day>\d{{1,2}})[./-](?P<month>\d{{1,2}})[./-](?P<year>\d{{4}}|\d{{2}})\b{_TIME}", re.I
    ),
]


@lru_cache(maxsize=16)
def _zone(tz: str) -> ZoneInfo | timezone:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _to_utc(value: datetime, tz: str) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone(tz))
    return value.astimezone(UTC)


def _parse_iso(text: str, tz: str) -> datetime | None:
    if not text[:4].isdigit():  # every ISO 8601 form starts with the year; failing costs an exception
        return None
    candidate = text.replace(" ", "T", 1) if re.match(r"^\d{4}-\d{2}-\d{2} \d", text) else text
    try:
        return _to_utc(datetime.fromisoformat(candidate), tz)
    except ValueError:
        return None


_RFC822_ZONE = re.compile(r"\d:\d{2}(?::\d{2})?\s*(?:[+-]\d{4}|[A-Za-z]{1,5})\s*$")


def _parse_rfc822(text: str, tz: str) -> datetime | None:
    # Only strings that look like RFC 822 ("Wed, 12 Mar 2025 14:30:00 +0100"): parsedate_tz is lenient
    # enough to misread other formats.
    if not _RFC822_SHAPE.search(text):
        return None
    text = _ZONE_ABBREVIATION.sub(lambda m: _ZONE_ABBREVIATIONS[m.group(0)], text)
    parsed = parsedate_tz(text)
    if parsed is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    offset = parsed[9]
    try:
        naive = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    # parsedate_tz reports a missing zone as offset 0; a date without one is local time, not UTC.
    if offset is None or not _RFC822_ZONE.search(text):
        return _to_utc(naive, tz)
    return (naive - timedelta(seconds=offset)).replace(tzinfo=UTC)


def _month_number(token: str) -> int | None:
    if token.isdigit():
        return int(token)
    return MONTHS.get(token.lower().rstrip("."))


def _from_match(m: re.Match[str], tz: str) -> datetime | None:
    month = _month_number(m.group("month"))
    if month is None:
        return None
    year = int(m.group("year"))
    if year < 100:
        year += 2000
    hour = int(m.group("hour") or 0)
    minute = int(m.group("minute") or 0)
    second = int(m.group("second") or 0)
    ampm = (m.group("ampm") or "").replace(".", "").lower()
    if ampm == "pm" and hour < 12:
        hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    try:
        naive = datetime(year, month, int(m.group("day")), hour, minute, second)
    except ValueError:  # 31.02.2025, 25:61
        return None
    offset = m.group("offset")
    if offset:
        return naive.replace(tzinfo=_fixed_offset(offset)).astimezone(UTC)
    return _to_utc(naive, tz)


def _fixed_offset(text: str) -> timezone:
    if text.upper() in ("Z", "GMT", "UTC"):
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def parse_date(text: str | None, *, tz: str = "Europe/Oslo") -> datetime | None:
    """An aware UTC datetime from a date as feeds and pages print it, or None.

    Reads ISO 8601, RFC 822, "12. mars 2025", "12 mars 2025", "12.03.2025", "12/03/2025" (day first),
    "March 12, 2025", "12 March 2025", "Mar 12, 2025", English and Norwegian month names and
    abbreviations, each with an optional time ("kl. 14:30", "14.30", "2:30 pm").
    """
    if not text:
        return None
    text = " ".join(text.split())[:_MAX_INPUT]
    if not text:
        return None
    found = _parse_iso(text, tz) or _parse_rfc822(text, tz)
    if found is not None:
        return found
    for pattern in _PATTERNS:
        for m in pattern.finditer(text):
            result = _from_match(m, tz)
            if result is not None:
                return result
    return None
