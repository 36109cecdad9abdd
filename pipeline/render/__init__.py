"""Rendering: a digest in, email parts, archive pages and pre-send findings out (values in, strings out).

Public entry points:
- `render_digest` (email.py): one digest or segment to a `Rendered`, CSS inlined once, personal tokens;
- `personalise` / `Personaliser` (personalise.py): a recipient's values written into a `Rendered`;
- `render_archive` (archive.py): static pages, an index and an Atom feed;
- `lint_digest`, `check_links`, `outbound_links` (lint.py): pre-send checks.
"""

from .archive import archive_url, render_archive
from .email import render_digest
from .lint import check_links, lint_digest, outbound_links
from .personalise import PLACEHOLDERS, Personaliser, personalise, preview

__all__ = [
    "PLACEHOLDERS",
    "Personaliser",
    "archive_url",
    "check_links",
    "lint_digest",
    "outbound_links",
    "personalise",
    "preview",
    "render_archive",
    "render_digest",
]
