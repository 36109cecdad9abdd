"""Theme tagging in English and Norwegian, with the evidence for every tag.

All terms (of all themes, and in curate_item also noise rules and member names) are compiled once into
Aho-Corasick automata (ahocorasick-rs DFAs) that scan normalised text in a single pass and return all
their matches in one call: one for the keys that need no check once matched (scanned as UTF-8), one for
acronyms and names, whose hits are checked for capitals. An item's title and summary are scanned
together. A regex with word boundaries per term was ten times slower, and pyahocorasick's match-by-match
iteration twice as slow. How a term matches depends on its *mode*:

- ``en``: whole words; the regular plural (-s, -es after s/x/z/ch/sh, -y -> -ies) is an extra key.
- ``no``: Norwegian terms of five letters or more match anywhere, so they are found inside compounds
  ("kreftimmunterapi" contains "immunterapi") and with any inflection ("immunterapien"); shorter ones
  need word boundaries and get the inflections -en, -et, -er, -ene (-n, -t, -r, -ne after a final e).
- ``acronym``: terms written in capitals (EU, ICI, PD-1, PD-L1, CTLA-4) match only as whole tokens and
  only where the text writes them in capitals too: "EU" never matches "Europe" or "neuro".
- ``name``: organisation names; whole words, a genitive -s allowed, a capital first letter required.
- ``anywhere``: a plain substring of the normalised text (the probes that tell which identifier patterns
  can match, see PROBES).

Normalisation keeps every character's position: separators (hyphens, dashes, slashes, white space) and
punctuation become one space each and letters are lowercased. So "CAR-T" and "CAR T" are the same key;
whole-word keys are compiled with a space on each side (" eu ") and the text is padded with spaces, so
the automaton itself enforces word boundaries; and an acronym's hit is checked against the original
capitals at the same offsets.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any, Literal

import ahocorasick_rs

from pipeline.curate.trials import LETTER_PREFIXES, trial_links
from pipeline.errors import ConfigError
from pipeline.types import Evidence, NoiseRule, Tag, Theme, ThemeTerms

Mode = Literal["en", "no", "acronym", "name", "anywhere"]

# Where a match was found decides its weight: the title says what the story is about.
TITLE_WEIGHT = 2.0
SUMMARY_WEIGHT = 1.0
SOURCE_WEIGHT = 1.0
PATTERN_WEIGHT = 2.0
# Norwegian terms at least this long match inside compounds; shorter ones ("fase") would match too much.
COMPOUND_MIN_LETTERS = 5

# Every one of these becomes a space: separators make "CAR-T" and "CAR T" one key, punctuation makes word
# boundaries visible to the automaton. Chained str.replace is 20x faster here than str.translate.
_SEPARATORS = "-\u2010\u2011\u2012\u2013\u2014\u2212/_\t\n\r\f\v\xa0\u2009\u202f"
_PUNCTUATION = ".,;:!?()[]{}\"'`\u2018\u2019\u201c\u201d\u00ab\u00bb\u2026\u2022*+=&%#@<>|\\~^$\u00a7\u00b7"
_TO_SPACE = _SEPARATORS + _PUNCTUATION
_ROMAN = frozenset({"iii", "iv", "vi", "vii"})
_NO_SUFFIXES = ("", "en", "et", "er", "ene", "a", "s", "ens", "ets")
_NO_SUFFIXES_AFTER_E = ("", "n", "t", "r", "ne", "s", "ns")


def normalise(text: str) -> str:
    """Lowercase, separators and punctuation to spaces, *same length as the input* so offsets map back."""
    out = text
    for char in _TO_SPACE:
        if char in out:
            out = out.replace(char, " ")
    lowered = out.lower()
    if len(lowered) == len(text):
        return lowered
    # A few characters lowercase to two ("İ"): keep those as they are to preserve offsets.
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in out)


@lru_cache(maxsize=16)
def padded_normalised(text: str) -> str:
    """The normalised text between two spaces, so that a key " eu " matches only a whole token.

    Cached because the same title and summary are scanned by the theme, noise and member matchers, and
    then split into words for grouping.
    """
    return f" {normalise(text)} "


def _is_acronym(term: str) -> bool:
    letters = [c for c in term if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters) and len(letters) <= 6


def term_mode(term: str, lang: str) -> Mode:
    """The matching rule of a configured term: capitals make an acronym, otherwise its language decides."""
    if _is_acronym(term):
        return "acronym"
    return "no" if lang == "no" else "en"


def _english_variants(key: str) -> list[str]:
    last = key.rsplit(" ", 1)[-1]
    # "phase I" has no plural ("phase is" would match a verb), nor has "phase 2" or "VB10.16".
    if len(last) <= 2 or last in _ROMAN or any(c.isdigit() for c in last):
        return [key]
    # Regular plurals only: each extra key costs scanning time, so no "-es" where English has none.
    if key.endswith(("s", "x", "z", "ch", "sh")):
        return [key, key + "es"]
    if key.endswith("y") and key[-2] not in "aeiou":
        return [key, key[:-1] + "ies"]
    return [key, key + "s"]


def _norwegian_variants(key: str) -> list[str]:
    suffixes = _NO_SUFFIXES_AFTER_E if key.endswith("e") else _NO_SUFFIXES
    return [key + s for s in suffixes]


@dataclass(frozen=True)
class _Key:
    """One compiled key: which payload it reports and how a hit is checked."""

    payload: int
    mode: Mode
    anywhere: bool  # matches inside words (long Norwegian terms); other keys are padded with spaces
    case_len: int  # acronyms: how many leading characters must be capitals in the original text
    capital: bool  # names: the first character must be a capital in the original text


class TermIndex:
    """Many terms, one automaton. `find` returns the payload ids whose terms occur in a text.

    A payload id is whatever the caller chose (an index into its own list of themes, rules, members).
    Several callers' terms may share one automaton as separate *groups* (see CurationIndex): `find_all`
    then returns one set per group, from a single scan of the text.
    """

    def __init__(
        self, terms: Iterable[tuple[str, Mode, int]], *more: Iterable[tuple[str, Mode, int]]
    ) -> None:
        self.groups = 1 + len(more)
        table: dict[str, list[tuple[int, _Key]]] = {}
        for group, entries in enumerate((terms, *more)):
            for term, mode, payload in entries:
                for key, spec in _compile(term, mode, payload):
                    table.setdefault(key, []).append((group, spec))
        # Most keys need no check once matched: their payloads are added as sets, once per key found
        # however often it occurs. The others (acronyms, names) have each hit checked for capitals, and
        # an automaton of their own, so that only their hits are looked at one by one.
        free_keys: list[tuple[str, _Frees, _Checked]] = []
        checked_keys: list[tuple[str, _Frees, _Checked]] = []
        for key, specs in table.items():
            free: dict[int, set[int]] = {}
            for group, spec in specs:
                if not (spec.case_len or spec.capital):
                    free.setdefault(group, set()).add(spec.payload)
            frees = tuple((group, frozenset(p)) for group, p in free.items())
            checked = tuple((g, spec) for g, spec in specs if spec.case_len or spec.capital)
            (checked_keys if checked else free_keys).append((key, frees, checked))
        self._free_keys = [key for key, _f, _c in free_keys]
        # A text's first-group payloads are one union of frozensets (in C); the few keys with payloads
        # of other groups (noise rules, member names) are looked at one by one.
        self._first_group: list[frozenset[int]] = []
        self._other_groups: dict[int, _Frees] = {}
        for k, (_key, frees, _checked) in enumerate(free_keys):
            self._first_group.append(frozenset().union(*(p for group, p in frees if group == 0)))
            if any(group for group, _p in frees):
                self._other_groups[k] = tuple((group, p) for group, p in frees if group)
        self._others = frozenset(self._other_groups)
        self._checked_keys = [key for key, _f, _c in checked_keys]
        self._checked = [(frees, checked) for _k, frees, checked in checked_keys]
        self._free_automaton = _bytes_automaton(self._free_keys)
        self._checked_automaton = _automaton(self._checked_keys)

    def __getstate__(self) -> dict[str, Any]:
        # The compiled automata do not pickle (a spawned pool worker receives the index): they are
        # rebuilt from their keys.
        return {k: v for k, v in self.__dict__.items() if not k.endswith("_automaton")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._free_automaton = _bytes_automaton(self._free_keys)
        self._checked_automaton = _automaton(self._checked_keys)

    def find(self, text: str) -> set[int]:
        """Payload ids of the first group's terms found in `text`."""
        return self.find_all(text)[0]

    def find_all(self, text: str) -> list[set[int]]:
        """Payload ids found in `text`, one set per group."""
        return self.find_each((text,))[0]

    def find_each(self, texts: Sequence[str]) -> list[list[set[int]]]:
        """`find_all` of each text (a title and its summary), from one scan of them all."""
        padded = [padded_normalised(text) for text in texts]
        found: list[list[set[int]]] = []
        if self._free_automaton is not None:
            # Scanned as UTF-8: a third faster than as str, whose matches' offsets are converted to
            # characters, and these keys need no offsets beyond which text they are in. The texts are
            # joined by a byte no key holds, so that no match spans two of them; matches come in the
            # order of their ends, so each text's matches are one slice of them.
            encoded = [part.encode() for part in padded]
            hits = self._free_automaton.find_matches_as_indexes(_BYTES_JOINER.join(encoded), overlapping=True)
            first = end = 0
            for raw in encoded:
                end += len(raw)
                last = bisect_right(hits, end, lo=first, key=_end_of)
                found.append(self._free_payloads(set(map(_key_of, hits[first:last]))))
                first, end = last, end + 1
        else:
            found = [[set() for _ in range(self.groups)] for _ in texts]
        if self._checked_automaton is not None:
            self._add_checked(found, texts, padded)
        return found

    def _add_checked(self, found: list[list[set[int]]], texts: Sequence[str], padded: Sequence[str]) -> None:
        """Add the payloads of the keys checked for capitals, each hit held to the original text."""
        assert self._checked_automaton is not None
        # Where each padded text starts in the joined text (in characters).
        starts: list[int] = []
        position = 0
        for part in padded:
            starts.append(position)
            position += len(part) + 1
        hits = self._checked_automaton.find_matches_as_indexes(_JOINER.join(padded), overlapping=True)
        for key, start, _stop in hits:
            at = bisect_right(starts, start) - 1
            sets, text = found[at], texts[at]
            frees, checked = self._checked[key]
            for group, payloads in frees:
                sets[group] |= payloads
            # Keys with boundaries start with the padding space, which sits one place before the
            # text's first letter: `offset` is therefore the original offset of the key's first letter.
            offset = start - starts[at]
            for group, spec in checked:
                if spec.case_len:
                    # No lowercase letter among the acronym's characters (upper() would change it).
                    written = text[offset : offset + spec.case_len]
                    if written.upper() != written:
                        continue
                elif not text[offset].isupper():  # a name written with a capital
                    continue
                sets[group].add(spec.payload)

    def _free_payloads(self, keys: set[int]) -> list[set[int]]:
        """The payloads of free keys found in one text, one set per group."""
        sets = [set().union(*map(self._first_group.__getitem__, keys))]
        sets.extend(set() for _ in range(1, self.groups))
        for key in keys & self._others:
            for group, payloads in self._other_groups[key]:
                sets[group] |= payloads
        return sets


# No key holds it (keys are normalised text: letters, digits and spaces).
_JOINER = "\x00"
_BYTES_JOINER = _JOINER.encode()
_key_of = itemgetter(0)
_end_of = itemgetter(2)


_Frees = tuple[tuple[int, frozenset[int]], ...]
_Checked = tuple[tuple[int, _Key], ...]


def _bytes_automaton(keys: Sequence[str]) -> ahocorasick_rs.BytesAhoCorasick | None:
    if not keys:
        return None
    encoded = [key.encode() for key in keys]
    return ahocorasick_rs.BytesAhoCorasick(encoded, implementation=ahocorasick_rs.Implementation.DFA)


def _automaton(keys: Sequence[str]) -> ahocorasick_rs.AhoCorasick | None:
    # A DFA: the largest to build (well under a second for thousands of keys) and the fastest to scan.
    if not keys:
        return None
    return ahocorasick_rs.AhoCorasick(keys, implementation=ahocorasick_rs.Implementation.DFA)


def _term_key(term: str) -> str:
    """A term as the automaton matches it: normalised, separators and runs of spaces as one space."""
    return " ".join(normalise(term).split())


def _compile(term: str, mode: Mode, payload: int) -> list[tuple[str, _Key]]:
    """The automaton keys of one term. Keys that need word boundaries are padded with spaces."""
    key = _term_key(term)
    if not key:
        return []
    hyphenless = key.replace(" ", "") if any(c in _SEPARATORS for c in term) else None
    if mode == "acronym":
        bases = [key] + ([hyphenless] if hyphenless else [])
        return [
            (f" {variant} ", _Key(payload, mode, False, len(base), False))
            for base in bases
            for variant in (base, base + "s")
        ]
    if mode == "anywhere":
        return [(key, _Key(payload, mode, True, 0, False))]
    if mode == "name":
        capital = term[:1].isupper()
        return [(f" {v} ", _Key(payload, mode, False, 0, capital)) for v in (key, key + "s")]
    if mode == "no":
        letters = sum(c.isalpha() for c in key)
        if letters >= COMPOUND_MIN_LETTERS:
            return [(key, _Key(payload, mode, True, 0, False))]
        return [(f" {v} ", _Key(payload, mode, False, 0, False)) for v in _norwegian_variants(key)]
    variants = _english_variants(key) + (_english_variants(hyphenless) if hyphenless else [])
    return [(f" {v} ", _Key(payload, mode, False, 0, False)) for v in variants]


# --- identifiers by pattern ------------------------------------------------------------------------

# Trial identifiers (NCT, EU CT, EudraCT, ISRCTN) are found by pipeline/curate/trials.py; an EU grant
# agreement number ("grant agreement No 101057513", "tilskuddsavtale nr. 101136580") is found here.
GRANT_WORDS = ("grant agreement", "tilskuddsavtale")
GRANT_PATTERN = re.compile(
    rf"\b(?:{'|'.join(GRANT_WORDS)})\s+(?:no\.?|nr\.?|number)?\s*\d{{6,9}}\b", re.I
)
TRIALS_THEME = "clinical-trials"
GRANTS_THEME = "eu-projects"


#: Probes: substrings of the normalised text without which an identifier pattern cannot match. They are
#: keys of the curation automaton (CurationIndex), so the scan that finds the terms also tells which
#: patterns are worth running; each substring test on a long summary costs as much as a regex search.
PROBES: tuple[tuple[str, str], ...] = (
    *(("grant", words) for words in GRANT_WORDS),
    *((kind, letters.lower()) for kind, letters in LETTER_PREFIXES.items()),
)
PROBE_ENTRIES: list[tuple[str, Mode, int]] = [(text, "anywhere", i) for i, (_kind, text) in enumerate(PROBES)]


def probed(found: set[int]) -> set[str]:
    """The kinds of identifier ("grant", "nct", "isrctn") whose probes were found (payloads of PROBES)."""
    return {PROBES[i][0] for i in found}


def _pattern_hits(
    title: str,
    summary: str,
    trials: Sequence[tuple[str, str]] | None = None,
    probes: tuple[set[str], set[str]] | None = None,
) -> list[tuple[str, str]]:
    """(theme id, identifier) for every identifier found by pattern; cheap tests skip the regexes.

    `trials` may pass the trial links already found in the item, and `probes` the kinds of identifier
    probed in the title and in the summary (see PROBES), to spare searching again.
    """
    if trials is None:
        trials = trial_links(f"{title}\n{summary}")
    out: list[tuple[str, str]] = [(TRIALS_THEME, identifier) for identifier, _url in trials]
    for at, text in enumerate((title, summary)):
        if probes is not None:
            maybe = "grant" in probes[at]
        else:
            padded = padded_normalised(text)
            maybe = any(words in padded for words in GRANT_WORDS)
        if maybe:
            match = GRANT_PATTERN.search(text)
            if match:
                out.append((GRANTS_THEME, match.group(0)))
    return out


# --- themes --------------------------------------------------------------------------------------


class ThemeMatcher:
    """Tags text with the configured themes. Build once per configuration; `tag` is pure and fast."""

    def __init__(self, themes: Sequence[Theme], *, min_score: float = 1.0) -> None:
        self.themes = tuple(themes)
        self.min_score = min_score
        self._order = {t.id: i for i, t in enumerate(self.themes)}
        self._ids = [t.id for t in self.themes]
        self._weights = [t.weight for t in self.themes]
        # payload -> (theme index, term, is exclusion)
        self._payloads: list[tuple[int, str, bool]] = []
        #: (term, mode, payload) of every term: CurationIndex compiles them with other matchers' terms.
        self.entries: list[tuple[str, Mode, int]] = []
        listed = [
            (ti, word, excluded, term_mode(word, lang))
            for ti, theme in enumerate(self.themes)
            for terms, excluded in ((theme.terms, False), (theme.exclude, True))
            for lang, words in (("en", terms.en), ("no", terms.no))
            for word in words
        ]
        first = _first_of_same_word(listed)
        payload_of: dict[int, int] = {}
        for n, (ti, word, excluded, mode) in enumerate(listed):
            if first[n] == n:
                payload_of[n] = len(self._payloads)
                self._payloads.append((ti, word, excluded))
            self.entries.append((word, mode, payload_of[first[n]]))
        self._index = TermIndex(self.entries)
        # Evidence values are frozen: one per term and place, shared by every item that matches.
        self._title_evidence = [Evidence(term=term, where="title") for _ti, term, _x in self._payloads]
        self._summary_evidence = [Evidence(term=term, where="summary") for _ti, term, _x in self._payloads]
        # Per payload its theme's index, or ~index for an exclusion term (one lookup per payload found).
        self._theme_of = [~ti if excluded else ti for ti, _term, excluded in self._payloads]

    def tag(self, title: str, summary: str, *, source_themes: Sequence[str] = ()) -> tuple[Tag, ...]:
        """Themes of one item, best first, each with its score and evidence (term and where it was found)."""
        return self.tag_found(
            self._index.find(title), self._index.find(summary), title, summary, source_themes=source_themes
        )

    def tag_found(
        self,
        in_title: set[int],
        in_summary: set[int],
        title: str,
        summary: str,
        *,
        source_themes: Sequence[str] = (),
        trials: Sequence[tuple[str, str]] | None = None,
        probes: tuple[set[str], set[str]] | None = None,
    ) -> tuple[Tag, ...]:
        """`tag`, from the payloads already found in the title and the summary (and trial links and the
        identifier probes of each, if known)."""
        evidence: dict[int, list[Evidence]] = {}
        scores: dict[int, float] = {}
        excluded: set[int] = set()
        theme_of = self._theme_of
        for found, weight, evidences in (
            (in_title, TITLE_WEIGHT, self._title_evidence),
            (in_summary, SUMMARY_WEIGHT, self._summary_evidence),
        ):
            for payload in sorted(found):
                ti = theme_of[payload]
                if ti < 0:  # an exclusion term of theme ~ti
                    excluded.add(~ti)
                elif ti in scores:
                    evidence[ti].append(evidences[payload])
                    scores[ti] += weight
                else:
                    evidence[ti] = [evidences[payload]]
                    scores[ti] = weight
        for theme_id, identifier in _pattern_hits(title, summary, trials, probes):
            pi = self._order.get(theme_id)
            if pi is not None:
                evidence.setdefault(pi, []).append(Evidence(term=identifier, where="pattern"))
                scores[pi] = scores.get(pi, 0.0) + PATTERN_WEIGHT
        for theme_id in source_themes:
            si = self._order.get(theme_id)
            if si is not None:
                evidence.setdefault(si, []).append(Evidence(term=theme_id, where="source"))
                scores[si] = scores.get(si, 0.0) + SOURCE_WEIGHT
        # Best first, ties in the configured order: sorted as (-score, theme index) pairs, in C.
        ranked = sorted(
            (-round(raw * self._weights[ti], 4), ti)
            for ti, raw in scores.items()
            if ti not in excluded and raw >= self.min_score
        )
        ids = self._ids
        return tuple([Tag(ids[ti], -negative, tuple(evidence[ti])) for negative, ti in ranked])


def _first_of_same_word(listed: Sequence[tuple[int, str, bool, Mode]]) -> list[int]:
    """For each listed (theme, term, is exclusion, mode), the first term of its theme that matches the
    same words, directly or through others: it stands for them all, so that one word of the text counts
    once and shows once as evidence. Such terms are a word both languages write alike ("screening",
    "app", listed under each to match by both languages' rules) or a term and its plural ("NK cell",
    "NK cells")."""
    first = list(range(len(listed)))

    def root(n: int) -> int:
        while first[n] != n:
            n = first[n]
        return n

    holder: dict[tuple[int, bool, str], int] = {}
    for n, (ti, term, excluded, mode) in enumerate(listed):
        for key, _spec in _compile(term, mode, 0):
            # A padded key and a key matched anywhere find the same word: " app " and "app" are one.
            other = holder.setdefault((ti, excluded, key.strip()), n)
            a, b = root(n), root(other)
            first[max(a, b)] = min(a, b)
    return [root(n) for n in range(len(listed))]


class CurationIndex:
    """The terms of several matchers in one automaton, so each text is scanned once for all of them.

    `scan(text)` returns one set of payloads per matcher, in the matchers' own numbering.
    """

    def __init__(self, *entry_lists: Sequence[tuple[str, Mode, int]]) -> None:
        self._index = TermIndex(*entry_lists) if entry_lists else TermIndex(())

    def scan(self, text: str) -> list[set[int]]:
        return self._index.find_all(text)

    def scan_each(self, texts: Sequence[str]) -> list[list[set[int]]]:
        """`scan` of each text, from one scan of them all."""
        return self._index.find_each(texts)


# --- configuration loaders (called by pipeline/config.py, and by tests and benches) -----------------


def _str_list(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigError(f"{where} must be a list of strings", fix=f"write {where}: [term, ...]")
    return tuple(str(v).strip() for v in value if str(v).strip())


def _language_keys(value: Mapping[Any, Any]) -> dict[Any, Any]:
    """YAML 1.1 (PyYAML's safe_load) reads a bare `no:` key as the boolean False: take it as "no"."""
    return {("no" if k is False else k): v for k, v in value.items()}


def _terms(value: Any, where: str) -> ThemeTerms:
    if value is None:
        return ThemeTerms()
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where} must map en/no to lists", fix=f"write {where}: {{en: [...], no: [...]}}")
    value = _language_keys(value)
    unknown = {str(k) for k in value} - {"en", "no"}
    if unknown:
        raise ConfigError(f"{where} has unknown languages {sorted(unknown)}", fix="use en and no")
    return ThemeTerms(
        en=_str_list(value.get("en"), f"{where}.en"), no=_str_list(value.get("no"), f"{where}.no")
    )


def themes_from_mapping(data: Mapping[str, Any]) -> tuple[Theme, ...]:
    """Themes from the `themes:` mapping of sources.yaml (or from a whole document that has one)."""
    if "themes" in data and isinstance(data["themes"], Mapping):
        data = data["themes"]
    out: list[Theme] = []
    for theme_id, spec in data.items():
        where = f"themes.{theme_id}"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where} must be a mapping with label and terms")
        terms = _terms(spec.get("terms"), f"{where}.terms")
        if not terms.en and not terms.no:
            raise ConfigError(f"{where} has no terms", fix="add terms: {en: [...], no: [...]}")
        label = str(spec.get("label") or theme_id)
        out.append(
            Theme(
                id=str(theme_id),
                label=label,
                label_no=str(spec.get("label_no") or label),
                terms=terms,
                exclude=_terms(spec.get("exclude"), f"{where}.exclude"),
                weight=float(spec.get("weight", 1.0)),
            )
        )
    return tuple(out)


def noise_rules_from_mapping(data: Mapping[str, Any]) -> tuple[NoiseRule, ...]:
    """Noise rules from the `noise:` mapping (or a whole document that has one).

    Each rule: `{reason: ..., en: [...], no: [...], where: title|any, require: {en: [...], no: [...]}}`;
    the reason defaults to the rule id in words.
    """
    if "noise" in data and isinstance(data["noise"], Mapping):
        data = data["noise"]
    out: list[NoiseRule] = []
    for rule_id, spec in data.items():
        where_key = f"noise.{rule_id}"
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where_key} must be a mapping with en/no terms")
        spec = _language_keys(spec)
        where = str(spec.get("where", "any"))
        if where not in ("any", "title"):
            raise ConfigError(f"{where_key}.where must be 'any' or 'title'")
        terms = ThemeTerms(
            en=_str_list(spec.get("en"), f"{where_key}.en"), no=_str_list(spec.get("no"), f"{where_key}.no")
        )
        require = _terms(spec.get("require"), f"{where_key}.require")
        if not (terms.en or terms.no or require.en or require.no):
            raise ConfigError(f"{where_key} has no terms", fix="add en: [...] and no: [...] (or require:)")
        reason = str(spec.get("reason") or str(rule_id).replace("-", " ").capitalize())
        out.append(NoiseRule(id=str(rule_id), reason=reason, terms=terms, require=require, where=where))  # type: ignore[arg-type]
    return tuple(out)
