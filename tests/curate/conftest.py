"""Shared fixtures for curation tests: the project's real taxonomy and noise rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.curate.noise import NoiseMatcher
from pipeline.curate.themes import ThemeMatcher, noise_rules_from_mapping, themes_from_mapping
from pipeline.types import Theme

ROOT = Path(__file__).resolve().parents[2]


def taxonomy_document() -> dict[str, Any]:
    """themes.yaml while it exists; sources.yaml once its blocks are merged there."""
    path = ROOT / "themes.yaml"
    if not path.exists():
        path = ROOT / "sources.yaml"
    with path.open(encoding="utf-8") as f:
        data: dict[str, Any] = yaml.safe_load(f)
    return data


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
