"""Trial identifiers in an item become links to their public registries."""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import quote

# ClinicalTrials.gov (NCT + 8 digits), EU CT numbers from CTIS (2023-501234-12-00), older EudraCT numbers
# (2017-001234-56) and ISRCTN. Separate patterns so that each runs only when a cheap test says it may
# match; the literal prefixes make the first two fast.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("nct", re.compile(r"\bNCT\d{8}\b")),
    ("isrctn", re.compile(r"\bISRCTN\d{8}\b")),
    ("euct", re.compile(r"\b(?:19|20)\d{2}-5\d{5}-\d{2}-\d{2}\b")),
    ("eudract", re.compile(r"\b(?:19|20)\d{2}-\d{6}-\d{2}\b(?!-)")),
)


def registry_url(kind: str, identifier: str) -> str:
    """The public registry page of one identifier."""
    ident = quote(identifier)
    if kind == "nct":
        return f"https://clinicaltrials.gov/study/{ident}"
    if kind == "euct":
        return f"https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT={ident}"
    if kind == "eudract":
        return f"https://www.clinicaltrialsregister.eu/ctr-search/search?query={ident}"
    return f"https://www.isrctn.com/{ident}"


# A hyphen and six digits: part of the shape of EU CT and EudraCT numbers, tested before their patterns
# run. A pattern that starts with a literal is scanned for it quickly; one that starts with \d{4} is
# tried at every position (twenty times slower on a long summary).
_REGISTRY_NUMBER_TAIL = re.compile(r"-\d{6}")


def has_registry_number(text: str) -> bool:
    """Whether `text` may hold an EU CT or EudraCT number (a cheap test: their patterns are slow)."""
    return _REGISTRY_NUMBER_TAIL.search(text) is not None


#: The registries whose identifiers start with letters, and those letters.
LETTER_PREFIXES = {"nct": "NCT", "isrctn": "ISRCTN"}


def trial_links(text: str, *, prefixes: Collection[str] | None = None) -> tuple[tuple[str, str], ...]:
    """(identifier, registry URL) for each distinct trial identifier in `text`, in order of appearance.

    `prefixes` may say which of LETTER_PREFIXES' registries ("nct", "isrctn") have their letters in the
    text, in any case, as a scan the caller made found: the others are then not searched for.
    """
    found: list[tuple[int, str, str]] = []
    numbers = has_registry_number(text)
    for kind, pattern in _PATTERNS:
        letters = LETTER_PREFIXES.get(kind)
        if letters is not None and (kind not in prefixes if prefixes is not None else letters not in text):
            continue
        if kind in ("euct", "eudract") and not numbers:
            continue
        found.extend((m.start(), kind, m.group(0)) for m in pattern.finditer(text))
    seen: set[str] = set()
    out: list[tuple[str, str]] = []
    for _start, kind, identifier in sorted(found):
        if identifier not in seen:
            seen.add(identifier)
            out.append((identifier, registry_url(kind, identifier)))
    return tuple(out)
