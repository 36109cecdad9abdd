"""Subscriber lists in and out: CSV rows checked one by one, so one bad row never loses the others.

CSV columns: `email` (required), `name`, `language` (en | no), `themes` (theme ids separated by `;`).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from pipeline.types import Subscriber

COLUMNS = ("email", "name", "language", "themes")
#: Deliberately simple: one @, a dot in the domain, no spaces. Real validation is the confirmation mail.
EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


@dataclass(frozen=True)
class CsvRow:
    line: int
    email: str
    name: str
    language: str
    themes: tuple[str, ...] | None


@dataclass(frozen=True)
class CsvProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def valid_email(email: str) -> bool:
    return bool(EMAIL.match(email.strip())) and len(email) <= 320


def parse_subscriber_csv(text: str, theme_ids: Collection[str]) -> tuple[list[CsvRow], list[CsvProblem]]:
    """Rows that are good, and a problem per bad row (with its line number in the file)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "email" not in header:
        return [], [
            CsvProblem(1, f"the header row has no 'email' column (found: {', '.join(header) or 'nothing'})")
        ]
    reader.fieldnames = header
    rows: list[CsvRow] = []
    problems: list[CsvProblem] = []
    seen: set[str] = set()
    for raw in reader:
        line = reader.line_num
        email = (raw.get("email") or "").strip().lower()
        language = (raw.get("language") or "en").strip().lower() or "en"
        themes_text = (raw.get("themes") or "").strip()
        themes = tuple(t.strip() for t in themes_text.split(";") if t.strip()) or None
        if not valid_email(email):
            problems.append(CsvProblem(line, f"'{email}' is not an email address"))
            continue
        if language not in ("en", "no"):
            problems.append(CsvProblem(line, f"language '{language}' is not en or no"))
            continue
        unknown = [t for t in themes or () if t not in theme_ids]
        if unknown:
            problems.append(CsvProblem(line, f"unknown theme(s) {', '.join(unknown)}"))
            continue
        if email in seen:
            problems.append(CsvProblem(line, f"{email} appears twice in the file"))
            continue
        seen.add(email)
        rows.append(CsvRow(line, email, (raw.get("name") or "").strip(), language, themes))
    return rows, problems


def subscribers_to_csv(subscribers: Iterable[Subscriber]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((*COLUMNS, "status"))
    for s in subscribers:
        writer.writerow((s.email, s.name, s.language, ";".join(sorted(s.themes or ())), s.status))
    return out.getvalue()


def segment_key(subscriber: Subscriber) -> str:
    """A subscriber's segment: their language and the sorted themes they chose ('*' for all).

    The digest is rendered and inlined once per segment, then personalised per recipient.
    """
    themes = "*" if not subscriber.themes else ",".join(sorted(subscriber.themes))
    return f"{subscriber.language}|{themes}"


def segment_parts(key: str) -> tuple[str, frozenset[str] | None]:
    """(language, themes or None for all) of a segment key."""
    language, _, themes = key.partition("|")
    return language, None if themes in ("", "*") else frozenset(themes.split(","))
