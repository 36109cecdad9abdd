"""Evaluate theme tagging, noise detection and grouping on the labelled set.

    python bench/theme_eval.py [--fixture tests/fixtures/themes_eval.jsonl] [--config sources.yaml] [-v]

Prints per-theme precision, recall and F1, macro F1, noise precision/recall and pairwise grouping
precision and recall. Themes are scored on the items that are not noise (noise never reaches a draft);
grouping is scored on every pair of items (a pair is positive when both carry the same `group` label).
tests/curate/test_theme_eval.py runs `evaluate` with the target thresholds.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.curate.groups import GroupInput, group_items  # noqa: E402
from pipeline.curate.noise import NoiseMatcher  # noqa: E402
from pipeline.curate.themes import ThemeMatcher, noise_rules_from_mapping, themes_from_mapping  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "themes_eval.jsonl"


def default_config() -> Path:
    return ROOT / "sources.yaml"


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class Report:
    themes: dict[str, Score]
    noise: Score
    grouping: Score
    errors: list[str] = field(default_factory=list)

    @property
    def macro_f1(self) -> float:
        return sum(s.f1 for s in self.themes.values()) / len(self.themes)


def load_items(path: Path = FIXTURE) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def load_config(path: Path) -> Mapping[str, Any]:
    from pipeline.config import read_yaml

    return read_yaml(path.read_text(encoding="utf-8"))


def _count(pairs: Sequence[tuple[bool, bool]]) -> Score:
    return Score(
        tp=sum(1 for exp, got in pairs if exp and got),
        fp=sum(1 for exp, got in pairs if got and not exp),
        fn=sum(1 for exp, got in pairs if exp and not got),
    )


def evaluate(items: Sequence[Mapping[str, Any]], config: Mapping[str, Any]) -> Report:
    themes = themes_from_mapping(config["themes"])
    matcher = ThemeMatcher(themes)
    noise = NoiseMatcher(noise_rules_from_mapping(config.get("noise") or {}))
    errors: list[str] = []
    per_theme: dict[str, list[tuple[bool, bool]]] = {t.id: [] for t in themes}
    noise_pairs: list[tuple[bool, bool]] = []
    for item in items:
        tags = matcher.tag(item["title"], item["summary"])
        # As in curate_item: an item with a theme is never off-topic for lack of vocabulary.
        got_noise = noise.detect(item["title"], item["summary"], relevant=bool(tags)) is not None
        noise_pairs.append((bool(item["noise"]), got_noise))
        if got_noise != bool(item["noise"]):
            errors.append(f"noise {item['id']}: expected {item['noise']}, got {got_noise}: {item['title']}")
        if item["noise"]:
            continue
        got = {t.theme for t in tags}
        expected = set(item["themes"])
        for theme_id, pairs in per_theme.items():
            pairs.append((theme_id in expected, theme_id in got))
        for theme_id in sorted(got ^ expected):
            kind = "missed" if theme_id in expected else "extra"
            errors.append(f"{kind} {theme_id} {item['id']}: {item['title']}")
    groups = group_items(
        [
            GroupInput(
                item_id=i["id"],
                title=i["title"],
                summary=i["summary"],
                language=i.get("language"),
                source_id=i["source"],
            )
            for i in items
        ]
    )
    group_pairs = []
    for a, b in combinations(items, 2):
        expected_same = a["group"] is not None and a["group"] == b["group"]
        got_same = groups[a["id"]] == groups[b["id"]]
        group_pairs.append((expected_same, got_same))
        if expected_same != got_same:
            errors.append(f"group {a['id']}/{b['id']}: expected {expected_same}: {a['title']} | {b['title']}")
    return Report(
        themes={t: _count(p) for t, p in per_theme.items()},
        noise=_count(noise_pairs),
        grouping=_count(group_pairs),
        errors=errors,
    )


def format_report(report: Report, n_items: int) -> str:
    lines = [f"{n_items} items", f"{'theme':<22}{'prec':>7}{'recall':>8}{'F1':>7}{'tp':>5}{'fp':>5}{'fn':>5}"]
    for theme_id, s in report.themes.items():
        lines.append(f"{theme_id:<22}{s.precision:7.3f}{s.recall:8.3f}{s.f1:7.3f}{s.tp:5}{s.fp:5}{s.fn:5}")
    lines.append(f"{'macro F1':<22}{'':7}{'':8}{report.macro_f1:7.3f}")
    n, g = report.noise, report.grouping
    lines.append(f"{'noise':<22}{n.precision:7.3f}{n.recall:8.3f}{n.f1:7.3f}{n.tp:5}{n.fp:5}{n.fn:5}")
    lines.append(
        f"{'grouping (pairs)':<22}{g.precision:7.3f}{g.recall:8.3f}{g.f1:7.3f}{g.tp:5}{g.fp:5}{g.fn:5}"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fixture", type=Path, default=FIXTURE)
    parser.add_argument("--config", type=Path, default=None, help="YAML with themes: and noise: blocks")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every disagreement")
    args = parser.parse_args(argv)
    items = load_items(args.fixture)
    report = evaluate(items, load_config(args.config or default_config()))
    print(format_report(report, len(items)))
    if args.verbose:
        print("\n".join(report.errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
