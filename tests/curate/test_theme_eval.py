"""The labelled evaluation set, scored by the same function as bench/theme_eval.py, against the targets.

A rule change that makes tagging, noise or grouping worse on the set fails here.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def load_bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("theme_eval_bench", ROOT / "bench" / "theme_eval.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load_bench()


def test_evaluation_set_has_the_required_shape(bench: ModuleType) -> None:
    items = bench.load_items()
    assert len(items) >= 150
    assert len({i["id"] for i in items}) == len(items)
    assert sum(1 for i in items if i["language"] == "no") >= len(items) / 4
    assert sum(1 for i in items if i["noise"]) >= 15
    groups = Counter(i["group"] for i in items if i["group"])
    assert sum(1 for size in groups.values() if size >= 2) >= 8
    # At least two groups join an English and a Norwegian version of one release.
    bilingual = {g for g in groups if {i["language"] for i in items if i["group"] == g} == {"en", "no"}}
    assert len(bilingual) >= 2


def test_quality_targets_hold(bench: ModuleType) -> None:
    items = bench.load_items()
    report = bench.evaluate(items, bench.load_config(bench.default_config()))
    summary = bench.format_report(report, len(items))
    assert report.macro_f1 >= 0.85, summary
    assert all(score.f1 >= 0.75 for score in report.themes.values()), summary
    assert report.grouping.precision >= 0.95, summary
    assert report.grouping.recall >= 0.85, summary
