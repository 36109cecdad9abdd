"""Tell English from Norwegian in short news text (titles and summaries).

A bottom-layer helper shared by collect (an item's language when the feed does not say) and curate (which
term list to match). It answers only "en", "no" or None: curation needs no finer distinction, and None is
the honest answer for text that is too short or in another language.

py3langid's model is loaded lazily, once per process, under a lock: it takes about half a second and the
function is called per item, possibly from several collector threads.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from pipeline.types import Language

# Fewer letters than this and n-gram statistics are noise ("Kreft", "Ultimovacs" are not languages).
MIN_LETTERS = 20
# Only the head of a long text is scored: language does not change halfway through a news summary.
MAX_CHARS = 2_000
# The winning group must reach this probability and beat the runner-up language by this factor.
MIN_CONFIDENCE = 0.3
MIN_MARGIN = 1.5
# Scored languages: ours, their close neighbours, and the other languages a member's news comes in, so
# that Swedish or German text is recognised as such instead of being forced into English or Norwegian.
# Restricting the model also removes the noise of rare labels (Pidgin, Latin) on short English titles.
CANDIDATES = ("en", "no", "nn", "da", "sv", "is", "de", "fr", "nl", "es", "it", "pt", "fi", "pl")

# Norwegian Bokmål, Nynorsk and Danish share most short function words and n-grams; on one title
# py3langid often splits its vote between them. Danish is therefore counted towards Norwegian: the
# question asked is "which term list fits", and for Danish text the Norwegian list is the closer one.
_GROUPS: dict[str, Language] = {"en": "en", "no": "no", "nn": "no", "da": "no"}

# Matches only where at least MIN_LETTERS letters follow: a search answers "enough letters?" without
# building a list of every letter in the text.
_ENOUGH_LETTERS = re.compile(rf"(?:[^\W\d_][\W\d_]*+){{{MIN_LETTERS}}}")  # possessive: no backtracking

_lock = threading.Lock()
_identifier: Any = None


def _get_identifier() -> Any:
    """py3langid restricted to CANDIDATES, with normalised probabilities, built on first use."""
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:  # another thread may have loaded it while we waited
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
                identifier.set_languages(list(CANDIDATES))
                _identifier = identifier
    return _identifier


def warm_up() -> None:
    """Load the model now rather than on the first unclear text (a process that will fork workers)."""
    _get_identifier()


# Function words that are frequent in one language and rare or absent in the other (and in Danish and
# Swedish: "af", "och", "ikke", "jeg" are left out on purpose). Several hits on one side and none worth
# counting on the other decide without the statistical model, which costs far more per call.
_EN_WORDS = frozenset(
    "the and of to is are was were with from this that for has have will by its which".split()
)
_NO_WORDS = frozenset("og er på til ikke det som med har av fra å ved skal kan vil nye blir også".split())
_WORD = re.compile(r"[a-zæøåäö]+")
_CLEAR_HITS = 4


_SWEDISH_HINTS = frozenset("och att inte är för också från".split())


def _clear_by_function_words(text: str) -> Language | None:
    lowered = text.lower()
    if "ä" in lowered or "ö" in lowered:  # Swedish or German share our Norwegian words: let the model judge
        return None
    en = no = 0
    for word in _WORD.findall(lowered):
        if word in _SWEDISH_HINTS:
            return None
        if word in _EN_WORDS:
            en += 1
        elif word in _NO_WORDS:
            no += 1
    if en >= _CLEAR_HITS and no * 4 <= en:
        return "en"
    if no >= _CLEAR_HITS and en * 4 <= no:
        return "no"
    return None


def detect_language(text: str) -> Language | None:
    """ "en" or "no" when the text is clearly one of them; None when too short, unclear or another language.

    Norwegian, Nynorsk and Danish scores are summed; every other candidate language stands alone. The
    answer is the best of these groups when it is English or Norwegian, probable enough, and clearly
    ahead of the runner-up.
    """
    text = text[:MAX_CHARS]
    if not _ENOUGH_LETTERS.search(text):
        return None
    clear = _clear_by_function_words(text)
    if clear is not None:
        return clear
    scores: dict[str, float] = {}
    for code, probability in _get_identifier().rank(text):
        group = _GROUPS.get(code, code)
        scores[group] = scores.get(group, 0.0) + probability
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    best, best_score = ranked[0]
    runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
    if best not in ("en", "no") or best_score < MIN_CONFIDENCE or best_score < MIN_MARGIN * runner_up:
        return None
    return "en" if best == "en" else "no"
