"""Shared fixtures for curation tests: the project's real taxonomy and noise rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.config import read_yaml
from pipeline.curate.noise import NoiseMatcher
from pipeline.curate.themes import ThemeMatcher, noise_rules_from_mapping, themes_from_mapping
from pipeline.types import Theme

ROOT = Path(__file__).resolve().parents[2]


def taxonomy_document() -> dict[str, Any]:
    """The shipped sources.yaml (its themes: and noise: blocks), read as the pipeline reads it."""
    return read_yaml((ROOT / "sources.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def document() -> dict[str, Any]:
    return taxonomy_document()


@pytest.fixture(scope="session")
def themes(document: dict[str, Any]) -> tuple[Theme, ...]:
    return themes_from_mapping(document["themes"])


@pytest.fixture(scope="session")
def matcher(themes: tuple[Theme, ...]) -> ThemeMatcher:
    return ThemeMatcher(themes)


@pytest.fixture(scope="session")
def noise(document: dict[str, Any]) -> NoiseMatcher:
    return NoiseMatcher(noise_rules_from_mapping(document["noise"]))
