"""Tell English from Norwegian in short news text (titles and summaries).

A bottom-layer helper shared by collect (an item's language when the feed does not say) and curate (which
term list to match). It answers only "en", "no" or None: curation needs no finer distinction, and None is
the honest answer for text that is too short or in another language.

py3langid's model is loaded lazily, once per process, under a lock: the function is called per item,
possibly from several collector threads. The package ships the model LZMA-compressed, and decompressing it
costs about half a CPU-second in every process that loads it (each collect's parser pool, each curate),
so the model, restricted to our CANDIDATES, is kept uncompressed in the user's cache directory
($XDG_CACHE_HOME or ~/.cache, then pipeline/) and read from there in a tenth of that. The cache is only an
optimisation: when it is missing, stale, damaged or cannot be written, the model is read from the package.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from array import array
from dataclasses import dataclass
from pathlib import Path
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
                _identifier = _load_identifier()
    return _identifier


# --- the model, and its uncompressed cache ---------------------------------------------------------------

# Part of the cache key: a change to what the cache file holds, or how, must not read an older file.
CACHE_FORMAT = 1


@dataclass(frozen=True)
class _Model:
    """py3langid's model arrays, restricted to CANDIDATES: naive Bayes tables and the n-gram automaton."""

    ptc: Any  # numpy (features x languages)
    pc: Any  # numpy (languages)
    classes: list[str]
    nextmove: array[int]
    row: array[int]
    output: list[int]

    def consistent(self) -> bool:
        languages = len(self.classes)
        return self.ptc.shape[1] == languages == len(self.pc) and len(self.row) == len(self.output)


def _load_identifier() -> Any:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    try:
        from py3langid.modelio import load_model
    except ImportError:  # a py3langid older than 0.4 stores its model otherwise: no cache there
        identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        identifier.set_languages(list(CANDIDATES))
        return identifier
    package_model = MODEL_DIR / MODEL_FILE
    cache = cache_path(package_model)
    model = _read_cache(cache) if cache is not None else None
    if model is None:
        ptc, pc, classes, nextmove, row, output = load_model(package_model)
        keep = [i for i, code in enumerate(classes) if code in CANDIDATES]
        # Only our languages' columns are kept: a copy of the full table would hold 28 MB for nothing.
        model = _Model(ptc[:, keep].copy(), pc[keep], [classes[i] for i in keep], nextmove, row, output)
        if cache is not None:
            _write_cache(cache, model)
    # The same identifier set_languages(CANDIDATES) would make of the full model: the columns kept are
    # the candidates', in the model's order.
    return LanguageIdentifier(
        model.ptc, model.pc, model.classes, model.nextmove, model.output, norm_probs=True, tk_row=model.row
    )


def cache_path(package_model: Path) -> Path | None:
    """Where the uncompressed model of this py3langid installation is cached; None if nowhere."""
    try:
        stat = package_model.stat()
    except OSError:
        return None
    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(root):  # no home directory: better no cache than one in the working directory
        return None
    key = repr((CACHE_FORMAT, str(package_model), stat.st_size, stat.st_mtime_ns, CANDIDATES))
    return Path(root) / "pipeline" / f"py3langid-{hashlib.sha256(key.encode()).hexdigest()[:16]}.npz"


def _as_array(values: Any) -> array[int]:
    """A numpy array of unsigned integers as the stdlib array py3langid's automaton walks (fast indexing)."""
    out = array({2: "H", 4: "I", 8: "Q"}[values.dtype.itemsize])
    out.frombytes(values.tobytes())
    return out


def _read_cache(path: Path) -> _Model | None:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            model = _Model(
                ptc=data["ptc"],
                pc=data["pc"],
                classes=[str(c) for c in data["classes"].tolist()],
                nextmove=_as_array(data["nextmove"]),
                row=_as_array(data["row"]),
                output=data["output"].tolist(),
            )
    except FileNotFoundError:
        return None
    except Exception:  # a damaged or foreign file, whatever the error: the package's model is read
        return None
    return model if model.consistent() else None


def _write_cache(path: Path, model: _Model) -> None:
    """Write the cache file whole or not at all (a temporary file renamed), and drop older models' files."""
    import numpy as np

    temporary: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".py3langid-", suffix=".tmp")
        with os.fdopen(descriptor, "wb") as out:
            np.savez(
                out,
                ptc=model.ptc,
                pc=model.pc,
                classes=np.array(model.classes),
                nextmove=np.frombuffer(model.nextmove, dtype=f"u{model.nextmove.itemsize}"),
                row=np.frombuffer(model.row, dtype=f"u{model.row.itemsize}"),
                output=np.array(model.output, dtype=np.int32),
            )
        os.replace(temporary, path)
        temporary = None
        for stale in path.parent.glob("py3langid-*.npz"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:  # a read-only or full disk: no cache, the next process decompresses again
        pass
    finally:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


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
