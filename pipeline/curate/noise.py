"""Off-topic detection: job adverts, cookie and privacy notices, generic quarterly reports, and the rest.

Each rule comes from sources.yaml `noise:` with a reason that editors see next to the flag. Rules use the
same term matching as themes (Norwegian compounds and inflections, acronyms as whole tokens).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from pipeline.curate.themes import Mode, TermIndex, term_mode
from pipeline.types import NoiseRule


class NoiseMatcher:
    """Compiled noise rules; `detect` returns the reason of the first rule that fires, or None."""

    def __init__(self, rules: Sequence[NoiseRule]) -> None:
        self.rules = tuple(rules)
        #: (term, mode, rule index) of the rules' terms, for a combined automaton (see CurationIndex).
        self.entries: list[tuple[str, Mode, int]] = []
        required: list[tuple[str, Mode, int]] = []
        for i, rule in enumerate(self.rules):
            for lang, words in (("en", rule.terms.en), ("no", rule.terms.no)):
                self.entries.extend((w, term_mode(w, lang), i) for w in words)
            for lang, words in (("en", rule.require.en), ("no", rule.require.no)):
                required.extend((w, term_mode(w, lang), i) for w in words)
        self._index = TermIndex(self.entries)
        # `require` vocabulary ("cancer", "patient") is everywhere and needed only for items without a
        # theme or member: it has its own automaton, scanned only then.
        self._required = TermIndex(required)
        self._needs_required = {i for i, r in enumerate(self.rules) if r.require.en or r.require.no}

    def detect(self, title: str, summary: str, *, relevant: bool = False) -> str | None:
        """`relevant`: the item has a theme or names a member, so `require` rules (off-topic) do not fire."""
        return self.detect_found(
            self._index.find(title), self._index.find(summary), title, summary, relevant=relevant
        )

    def detect_found(
        self, in_title: set[int], in_summary: set[int], title: str, summary: str, *, relevant: bool = False
    ) -> str | None:
        """`detect`, from the rule terms already found in the title and the summary."""
        present: set[int] | None = None
        for i, rule in enumerate(self.rules):
            if i in in_title or (rule.where == "any" and i in in_summary):
                return rule.reason
            if not relevant and i in self._needs_required:
                if present is None:
                    present = self._required.find(title) | self._required.find(summary)
                if i not in present:
                    return rule.reason
        return None


@lru_cache(maxsize=8)
def _compiled(rules: tuple[NoiseRule, ...]) -> NoiseMatcher:
    return NoiseMatcher(rules)


def noise_matcher(rules: Sequence[NoiseRule] | NoiseMatcher) -> NoiseMatcher:
    """A compiled matcher for these rules (compiled once per distinct rule set)."""
    return rules if isinstance(rules, NoiseMatcher) else _compiled(tuple(rules))


def detect_noise(
    title: str, summary: str, rules: Sequence[NoiseRule] | NoiseMatcher, *, relevant: bool = False
) -> str | None:
    """The reason this item is off-topic, or None. Rules are compiled once per distinct rule set.

    Pass `relevant=True` when the item has a theme or names a member: it is then never off-topic for
    lack of vocabulary, though it may still be a job advert or a quarterly report.
    """
    return noise_matcher(rules).detect(title, summary, relevant=relevant)
