"""README stays true: every command and every setting is documented (datasette's habit)."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from pipeline.cli import COMMANDS
from pipeline.config import SECRET_ENV
from pipeline.types import Branding, DeliverySettings, DigestSettings, HttpSettings, Settings, Source

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_every_command_is_in_the_readme() -> None:
    from pipeline.cli import admin, audience, collect, curate, digest  # noqa: F401  (they register commands)

    assert len(COMMANDS) >= 17
    missing = [name for name in COMMANDS if f"python run.py {name}" not in README]
    assert missing == []


def test_every_setting_and_source_field_is_in_the_readme() -> None:
    names = {
        f.name for cls in (Settings, HttpSettings, DigestSettings, Branding, Source) for f in fields(cls)
    }
    names |= {f.name for f in fields(DeliverySettings)} - {"sender", "providers"}
    missing = sorted(n for n in names if n not in README)
    assert missing == []


def test_every_secret_is_in_the_readme() -> None:
    assert [name for name in SECRET_ENV if name not in README] == []
