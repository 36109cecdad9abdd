"""One entry per story: group near-duplicates across sources, and pick the representative.

Candidates come from locality-sensitive hashing, never from comparing all pairs:

- *Same language*: the content words of the normalised title and lede are hashed once each; a MinHash
  signature is built with one-permutation hashing (one hash per word, the minimum per bin, empty bins
  filled from their neighbour), cut into bands of bins far apart (neighbouring bins often hold one
  word's value), and items sharing a band in the same time window become candidates. A candidate pair
  is confirmed by the exact Jaccard similarity of the two word sets, unless each title names a product
  or trial code the other item never mentions ("INITIUM" and "NIPU": two trials of one company are two
  stories).
- *English and Norwegian versions of one release*: their words differ, so they meet instead through pairs
  of the named entities of their titles (capitalised words, numbers, acronyms and codes). They are
  grouped when their titles share at least two entities, one of them a code (a trial or product name, a
  figure; not a year), and their titles and ledes share at least two anchors: codes, figures or long
  words that both languages write alike ("VB10.16", "37 000", "pembrolizumab"), organisation names
  excepted, since those recur in all of an organisation's news. Entity pairs are looked at only across
  languages (or where a language is unknown): within one language the words decide.

What is compared of an item (`StoryFeatures`: word hashes, title entities and codes with the keys of
their pairs, the text, the time slot) is computed where the item is curated, in the pool's workers.
The signatures of a whole window are then built with numpy, a block of items at a time, and both kinds
of bucket (signature bands, entity pairs) are lined up by one sort each. The two sources of candidates
are confirmed independently (the cross-language side may run in another process) and the confirmed
pairs joined with union-find.
Group keys are stable and unique: a group keeps the key most of its members had before (`previous`),
a group that splits leaves it to its oldest part, and an editor's merge or split (`overrides`) always
wins.
"""

from __future__ import annotations

import re
import zlib
from array import array
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np

from pipeline.curate.themes import normalise, padded_normalised

# Exact word-set Jaccard at or above this confirms two items in one language as the same story.
JACCARD_THRESHOLD = 0.4
# Signature shape: BANDS bands of ROWS bins; P(candidate) = 1 - (1 - s^ROWS)^BANDS (BANDS even: half the
# bands for each alignment of the time windows, see _lsh_candidates).
# With 3 x 30: a pair at 0.5 becomes a candidate with p = 0.98, at 0.4 p = 0.86, at 0.1 p = 0.03 when
# the two items share a window in both alignments; when they share one, half the bands count (0.87, 0.63,
# 0.015). Bench duplicates (reworded titles) are found at 96 %.
ROWS = 3
BANDS = 30
BINS = ROWS * BANDS
# Words in more than this share of the batch (and at least COMMON_MIN items) are left out of signatures:
# every oncology item says "cancer" and "patients", and such words only make unrelated items collide.
COMMON_SHARE = 0.01
COMMON_MIN = 30
# Only the head of a summary is compared: rewrites keep the lede, and boilerplate sits further down.
LEDE_CHARS = 600
# Items less than half of this apart meet in LSH buckets; items more than this apart are never grouped.
WINDOW_DAYS = 14
# Words at least this long that two texts in different languages share are names, not vocabulary.
ANCHOR_MIN_CHARS = 8
# A bucket larger than this holds boilerplate shared by many items, not one story: it is not expanded.
MAX_BUCKET = 64

# A thousands separator, removed with the digit before it kept ("37 000" -> "37000"). Not written with a
# lookbehind: a pattern that starts with \d is scanned for digits quickly, a lookbehind is tried everywhere.
_THOUSANDS = re.compile(r"(\d)[ ,.\u00a0\u202f](?=\d{3}\b)")
# A token, with hyphens or dots inside it kept: "LTX-315", "VB10.16" and "IMPRESS-Norway" are one code.
_ENTITY_TOKEN = re.compile(r"[^\W_]+(?:[-.][^\W_]+)*")
_ROMAN = frozenset({"i", "ii", "iii", "iv", "v", "vi"})
_YEAR = re.compile(r"(?:19|20)\d\d")

# Function words of English and Norwegian: they carry no story.
STOPWORDS = frozenset(
    """a an and are as at be been by for from has have had he her his in into is it its of on or our
    that the their this to was were will with we you not new also after before than more most about
    over under all can may per one two three i og på av til med som er for det en et den de har fra
    om ved ikke skal kan får eller men da nå nye ny nytt også etter før enn mer mest alle vi du seg
    sin sitt sine sine år blir ble vil være var""".split()
)
# Capitalised words so common in this domain that sharing them says nothing about the story.
COMMON_ENTITIES = frozenset(
    """oslo norway norge norwegian norsk norske cancer kreft cluster the a an new ny nye nytt member news
    asa as university hospital sykehus phase fase eu""".split()
)


@dataclass(frozen=True)
class GroupInput:
    """What grouping needs to know about one item."""

    item_id: int
    title: str
    summary: str
    published: datetime | None = None
    language: str | None = None
    source_id: str = ""
    source_member_id: str | None = None  # the member organisation the item's source speaks for
    members: tuple[str, ...] = ()  # the members the item names


def _entity_token(token: str) -> str:
    """A token without its Norwegian compound tail: "INITIUM-studien" -> "INITIUM"."""
    parts = token.split("-")
    while len(parts) > 1 and parts[-1].isalpha() and parts[-1].islower():
        parts.pop()
    return "-".join(parts)


def _is_code(token: str) -> bool:
    """A figure or a product, trial or programme name: a digit in it, or a part in capitals."""
    if not token.replace("-", "").replace(".", "").isalpha():
        return True
    return any(len(part) > 1 and part.isupper() for part in token.split("-"))


# Norwegian acronyms whose English twin is another word: the entity is the same.
ENTITY_SYNONYMS = {"ki": "ai", "eus": "eu", "mr": "mri"}


def _key(token: str) -> str:
    # Lowercased with separators as spaces, as in the normalised text that codes are looked up in.
    key = normalise(token)
    return ENTITY_SYNONYMS.get(key, key)


# What a raw token of a title says, as (key, is an entity, is distinctive, is a code). Cached: titles are
# made of a few thousand distinct tokens (names, codes, capitalised words) repeated across a batch.
_TokenInfo = tuple[str, bool, bool, bool]
_NOT_AN_ENTITY: _TokenInfo = ("", False, False, False)


@lru_cache(maxsize=1 << 16)
def _title_token(raw: str) -> _TokenInfo:
    token = _entity_token(raw)
    if len(token) < 2:
        return _NOT_AN_ENTITY
    code = _is_code(token)
    if not code and not token[0].isupper():
        return _NOT_AN_ENTITY
    low = _key(token)
    if low in STOPWORDS or low in _ROMAN:
        return _NOT_AN_ENTITY
    distinctive = low not in COMMON_ENTITIES and not _YEAR.fullmatch(low)
    return low, True, distinctive, distinctive and code


@lru_cache(maxsize=1 << 16)
def _code_key(raw: str) -> str | None:
    """The key of a token that is a code or figure (common entities excepted), else None. Cached."""
    token = _entity_token(raw)
    if len(token) > 1 and _is_code(token):
        key = _key(token)
        if key not in COMMON_ENTITIES:
            return key
    return None


def _without_separators(text: str) -> str:
    """The text with figures written whole: "37 000" and "37,000" become "37000"."""
    return _THOUSANDS.sub(r"\1", text)


def title_entities(title: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(entities, distinctive entities, codes) of a title, lowercased.

    An entity is a capitalised word, an acronym, a number or a code (the first word included: in this
    domain it is usually the company's name). Distinctive entities leave out years and words every item
    has ("Oslo", "Cancer", "EU"); codes are distinctive entities with a digit or in capitals ("UV1",
    "INITIUM", "37000", "LTX-315").
    """
    infos = [_title_token(raw) for raw in _ENTITY_TOKEN.findall(_without_separators(title))]
    return (
        frozenset(low for low, entity, _d, _c in infos if entity),
        frozenset(low for low, _e, distinctive, _c in infos if distinctive),
        frozenset(low for low, _e, _d, code in infos if code),
    )


def text_codes(text: str) -> frozenset[str]:
    """Every code and figure in a text, years included (cross-language versions share their figures)."""
    keys = set(map(_code_key, set(_ENTITY_TOKEN.findall(_without_separators(text)))))
    keys.discard(None)
    return frozenset(keys)  # type: ignore[arg-type]


class StoryFeatures(NamedTuple):
    """What grouping compares of one item, computed where the item is curated (a pool worker sends it
    back with the curation: plain values, cheap to pickle).

    `hashes` are the item's distinct content words (title and lede, function words out) as 32-bit
    hashes, native uint32: the Jaccard of two word sets is computed on them, and the MinHash signatures
    of a whole batch are built from them at once (numpy).
    """

    hashes: bytes
    entities: frozenset[str]
    codes: frozenset[str]
    text: str  # title and lede as written (capitals tell codes)
    lower: str  # the same, normalised
    slot: int  # half windows since the epoch
    #: The pairs of title entities with a code among them, as native uint64: the two entities' hashes,
    #: the smaller entity's in the high half (see _entity_candidates).
    entity_pairs: bytes


# A word's hash never changes: each process keeps the ones it has seen (a batch has a few tens of
# thousands of distinct words), up to this many. Function words are kept as _FUNCTION_WORD, so that one
# lookup per word both hashes it and tells it apart.
_HASH_CACHE_MAX = 500_000
_FUNCTION_WORD = -1
_hash_cache: dict[str, int] = dict.fromkeys(STOPWORDS, _FUNCTION_WORD)


def _learn_hashes(words: Sequence[str]) -> None:
    cache = _hash_cache
    if len(cache) + len(words) > _HASH_CACHE_MAX:
        cache.clear()
        cache.update(dict.fromkeys(STOPWORDS, _FUNCTION_WORD))
    for word in words:
        if word not in cache:
            # crc32 is stable across processes (unlike hash()), then mixed so every bit depends on all.
            h = (zlib.crc32(word.encode()) * 0x9E3779B1) & 0xFFFFFFFF
            cache[word] = h ^ (h >> 15)


def _word_hashes(words: Sequence[str]) -> bytes:
    """The distinct hashes of `words`, function words left out, as native uint32."""
    try:
        # Mapped in C, straight to a set of ints: no set of strings is built.
        hashes = set(map(_hash_cache.__getitem__, words))
    except KeyError:
        _learn_hashes(words)
        hashes = set(map(_hash_cache.__getitem__, words))
    hashes.discard(_FUNCTION_WORD)
    return array("I", hashes).tobytes()


def _entity_pairs(entities: frozenset[str], codes: frozenset[str]) -> bytes:
    """The keys of an item's title entity pairs that hold a code: what cross-language versions share."""
    if len(entities) < 2 or not codes:
        return b""
    ordered = sorted(entities)
    _learn_hashes(ordered)
    hashed = [(entity, _hash_cache[entity] & 0xFFFFFFFF) for entity in ordered]
    pairs = array("Q")
    for (a, hash_a), (b, hash_b) in combinations(hashed, 2):
        if a in codes or b in codes:
            pairs.append(hash_a << 32 | hash_b)
    return pairs.tobytes()


def story_features(title: str, summary: str, published: datetime | None) -> StoryFeatures:
    """The features of one item (pure; run in the curation workers)."""
    text = f"{title}\n{summary[:LEDE_CHARS]}"
    # The matchers have just normalised the title and the summary (cached): the head of it is the lede's.
    lower = f"{padded_normalised(title)[1:-1]} {padded_normalised(summary)[1 : LEDE_CHARS + 1]}"
    entities, _distinctive, codes = title_entities(title)
    slot = int(published.timestamp() // (WINDOW_DAYS * 43200)) if published else 0
    hashes = _word_hashes(lower.split())
    return StoryFeatures(hashes, entities, codes, text, lower, slot, _entity_pairs(entities, codes))


def features_of(item: GroupInput) -> StoryFeatures:
    return story_features(item.title, item.summary, item.published)


class _Story:
    """StoryFeatures with what confirming a candidate pair needs, derived only when it is needed."""

    __slots__ = ("features", "_words", "_anchors", "_compact")

    def __init__(self, features: StoryFeatures) -> None:
        self.features = features
        self._words: frozenset[int] | None = None
        self._anchors: frozenset[str] | None = None
        self._compact: str | None = None

    @property
    def words(self) -> frozenset[int]:
        if self._words is None:
            self._words = frozenset(array("I", self.features.hashes))
        return self._words

    @property
    def compact(self) -> str:
        """The normalised text without spaces: figures written with thousands separators ("37 000")
        then read as the code ("37000")."""
        if self._compact is None:
            self._compact = self.features.lower.replace(" ", "")
        return self._compact

    def anchors(self) -> frozenset[str]:
        """What two language versions of one text share: its codes and figures, and its long words that
        are the same in English and Norwegian (drug and company names: "pembrolizumab", "Radspherin").
        Computed only for the few cross-language candidates."""
        if self._anchors is None:
            words = self.features.lower.split()
            long_words = {w for w in words if len(w) >= ANCHOR_MIN_CHARS and w.isalpha()}
            self._anchors = text_codes(self.features.text) | long_words
        return self._anchors


# --- MinHash with one-permutation hashing, a whole batch at once -------------------------------------

_EMPTY = np.uint64(np.iinfo(np.uint64).max)
# Odd 64-bit multipliers that spread a band's three rows, its number and its window over the key.
_MIX = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93, 0xFF51AFD7ED558CCD],
    dtype=np.uint64,
)


def _signatures(features: Sequence[StoryFeatures]) -> tuple[np.ndarray, np.ndarray]:
    """(BINS x items) MinHash signatures and a mask of the items that have words.

    One hash per word decides its bin (hash % BINS) and value (hash // BINS); a bin keeps the minimum.
    Words in more than COMMON_SHARE of the batch are left out (unless an item has nothing else): every
    oncology item says "cancer" and "patients", and such words only make unrelated items collide.
    The signatures are then built SIGNATURE_BLOCK items at a time: the arrays of a block stay in the
    processor's cache and their memory is reused, where arrays of a whole window (hundreds of megabytes)
    would be faulted in page by page.
    """
    n = len(features)
    lengths = np.fromiter((len(f.hashes) // 4 for f in features), dtype=np.int64, count=n)
    hashes = np.frombuffer(b"".join(f.hashes for f in features), dtype=np.uint32)
    owner = np.repeat(np.arange(n, dtype=np.int64), lengths)
    keep = ~_is_common(hashes, max(COMMON_MIN, int(COMMON_SHARE * n)))
    kept = np.bincount(owner[keep], minlength=n)
    keep |= kept[owner] == 0  # an item of common words only keeps them all
    values, owner = hashes[keep], owner[keep]  # owner stays in item order
    signature = np.empty((BINS, n), dtype=np.uint64)
    blocks = range(0, n, SIGNATURE_BLOCK)
    bounds = np.searchsorted(owner, [*blocks, n]).tolist()
    for first, start, end in zip(blocks, bounds[:-1], bounds[1:], strict=True):
        last = min(first + SIGNATURE_BLOCK, n)
        block = _block_signatures(values[start:end], owner[start:end] - first, last - first)
        signature[:, first:last] = block
    return signature, lengths > 0


#: Items whose signatures are built at once (see _signatures): a block's arrays take about 3 MB.
SIGNATURE_BLOCK = 4096


def _block_signatures(hashes: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """(BINS x n) signatures of n items from their (kept) word hashes; `owner` gives each hash's item.

    Empty bins are densified: an empty bin borrows the next filled bin's value (circularly) offset by the
    distance, so two items agree on it only as often as they agree on that bin (rotation densification).
    """
    values = hashes.astype(np.uint64)
    cells = owner * BINS + (values % BINS).astype(np.int64)
    # One sort of (cell, value) packed in an int: the first entry of each cell is its minimum (a value
    # is below 2**26, a cell below 2**37 for any batch this side of a billion items).
    packed = np.sort((cells.astype(np.uint64) << np.uint64(26)) | (values // BINS))
    cells = (packed >> np.uint64(26)).astype(np.int64)
    first = np.ones(len(cells), dtype=bool)
    first[1:] = cells[1:] != cells[:-1]
    flat = np.full(n * BINS, _EMPTY, dtype=np.uint64)
    flat[cells[first]] = packed[first] & np.uint64((1 << 26) - 1)
    raw = flat.reshape(n, BINS).T.copy()  # bins as rows: each step below reads one contiguous row
    filled = raw != _EMPTY
    # For each bin, the next filled bin at or after it (circularly: the bins are laid out twice), found
    # by a running minimum from the end; an empty bin takes its value plus the distance in the high bits.
    bins = np.arange(BINS, dtype=np.int16)[:, None]
    position = np.where(filled, bins, np.int16(4 * BINS))
    twice = np.concatenate([position, position + np.int16(BINS)])
    following = np.minimum.accumulate(twice[::-1], axis=0)[::-1][:BINS]
    source = np.minimum(following, 2 * BINS - 1) % BINS  # items without words: any bin, never used
    return raw[source, np.arange(n)] + ((following - bins).astype(np.uint64) << np.uint64(32))


def _is_common(hashes: np.ndarray, limit: int) -> np.ndarray:
    """A mask of the hashes that occur more than `limit` times (each item holds a word once)."""
    # Each hash packed with its position: one sort of plain ints gives the runs and where they came from.
    packed = np.sort((hashes.astype(np.uint64) << np.uint64(32)) | np.arange(len(hashes), dtype=np.uint64))
    ordered = packed >> np.uint64(32)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    counts = np.diff(np.r_[starts, len(ordered)])
    mask = np.empty(len(hashes), dtype=bool)
    mask[(packed & np.uint64(0xFFFFFFFF)).astype(np.int64)] = np.repeat(counts > limit, counts)
    return mask


_INDEX_BITS = 24
_INDEX_MASK = np.uint64((1 << _INDEX_BITS) - 1)


def _lsh_candidates(features: Sequence[StoryFeatures]) -> set[tuple[int, int]]:
    """Pairs of items that share a band of their signatures in the same time window."""
    if not features:
        return set()
    if len(features) > int(_INDEX_MASK):
        raise ValueError(f"group at most {int(_INDEX_MASK):,} items at once")
    signature, has_words = _signatures(features)
    slots = np.fromiter((f.slot for f in features), dtype=np.int64, count=len(features))
    items = np.flatnonzero(has_words)
    keys = []
    for band in range(BANDS):
        # Band k takes bins k, k + BANDS, k + 2 * BANDS: bins far apart, since densified neighbours often
        # hold one word's value and a band of neighbours would act as a single row. Even bands cut time
        # into windows at whole windows, odd bands half a window later: two items less than half a window
        # apart share a window in at least one of the alignments.
        window = ((slots[items] + (band & 1)) >> 1).astype(np.uint64)
        key = np.full(len(items), band, dtype=np.uint64) * _MIX[3]
        for row in range(ROWS):
            key = (key ^ signature[band + row * BANDS, items]) * _MIX[row]
            key ^= key >> np.uint64(29)
        keys.append((key ^ window) * _MIX[4])
    return _bucket_pairs(np.concatenate(keys), np.tile(items, BANDS))


def _bucket_pairs(keys: np.ndarray, owners: np.ndarray) -> set[tuple[int, int]]:
    """Pairs of items (`owners`, by index) that share a bucket (`keys`, uint64); buckets larger than
    MAX_BUCKET are left out."""
    # One int per bucket (the key's top 40 bits) with the item's index in the low 24 bits, so that one
    # sort of plain ints lines the buckets up. A rare collision only adds a candidate that is then checked.
    packed = np.sort((keys & ~_INDEX_MASK) | owners.astype(np.uint64))
    bucket_keys = packed & ~_INDEX_MASK
    members = (packed & _INDEX_MASK).astype(np.int64)
    starts = np.flatnonzero(np.r_[True, bucket_keys[1:] != bucket_keys[:-1]])
    sizes = np.diff(np.r_[starts, len(packed)])
    pairs: set[tuple[int, int]] = set()
    two = starts[sizes == 2]  # most shared buckets hold a pair: no Python loop for those
    a, b = members[two].tolist(), members[two + 1].tolist()
    pairs.update((x, y) if x < y else (y, x) for x, y in zip(a, b, strict=True) if x != y)
    larger = (sizes > 2) & (sizes <= MAX_BUCKET)
    for start, size in zip(starts[larger].tolist(), sizes[larger].tolist(), strict=True):
        pairs.update(combinations(sorted(set(members[start : start + size].tolist())), 2))
    return pairs


def _entity_candidates(
    features: Sequence[StoryFeatures], languages: Sequence[str | None]
) -> set[tuple[int, int]]:
    """Pairs of items in different languages (or of unknown language) whose titles share two entities,
    one of them a code. Pairs in one language are LSH's: their words are compared, not their entities.

    Each entity pair is a bucket per time window, in both alignments of the windows (as in LSH)."""
    n = len(features)
    if n > int(_INDEX_MASK):
        raise ValueError(f"group at most {int(_INDEX_MASK):,} items at once")
    lengths = np.fromiter((len(f.entity_pairs) // 8 for f in features), dtype=np.int64, count=n)
    pairs = np.frombuffer(b"".join(f.entity_pairs for f in features), dtype=np.uint64)
    owners = np.repeat(np.arange(n, dtype=np.int64), lengths)
    slots = np.fromiter((f.slot for f in features), dtype=np.int64, count=n)[owners]
    keys = []
    for alignment in (0, 1):
        window = ((slots + alignment) >> 1).astype(np.uint64)
        key = (pairs * _MIX[0]) ^ (pairs >> np.uint64(31))
        keys.append((key ^ (window * _MIX[1]) ^ np.uint64(alignment)) * _MIX[4])
    candidates = _bucket_pairs(np.concatenate(keys), np.tile(owners, 2))
    return {(i, j) for i, j in candidates if languages[i] is None or languages[i] != languages[j]}


# --- confirming a candidate pair ----------------------------------------------------------------


def jaccard(a: frozenset[Any], b: frozenset[Any]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def _codes_conflict(a: _Story, b: _Story) -> bool:
    """Each title names a code the other item never mentions: two products or trials, two stories."""
    return _unexplained(a.features.codes, b) and _unexplained(b.features.codes, a)


def _unexplained(codes: frozenset[str], story: _Story) -> bool:
    text = story.features.lower
    if all(code in text for code in codes):
        return False
    # Figures may be written with thousands separators ("37 000" for the code "37000").
    compact = story.compact
    return any(code not in compact for code in codes)


def _same_story(a: _Story, b: _Story, lang_a: str | None, lang_b: str | None) -> bool:
    fa, fb = a.features, b.features
    if abs(fa.slot - fb.slot) > 2:
        return False
    if jaccard(a.words, b.words) >= JACCARD_THRESHOLD:
        return not _codes_conflict(a, b)
    if lang_a == lang_b and lang_a is not None:
        return False
    # Across languages only the titles' entities can match. A company's name is shared by all its news,
    # so one shared code (a trial, product or figure: "INITIUM", "VB-C-04", "37 000") is required too.
    shared = fa.entities & fb.entities
    if len(shared) < 2 or not (fa.codes & fb.codes):
        return False
    if len(shared) / min(len(fa.entities), len(fb.entities)) < 0.5 or _codes_conflict(a, b):
        return False
    # A product code recurs in all of a company's news ("LTX-315"): the two versions of one release
    # also share other figures, codes or names ("VB10.16", "37 000", "2023", "pembrolizumab").
    # Names ("DoMore Diagnostics") recur in all of an organisation's news: they are no anchor.
    names = {e for e in (fa.entities - fa.codes) | (fb.entities - fb.codes) if e.isalpha()}
    return len((a.anchors() & b.anchors()) - names) >= 2


# --- groups ------------------------------------------------------------------------------------


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


class StoryInput(NamedTuple):
    """One item to group: its features and language (the entity rule applies only across languages)."""

    item_id: int
    language: str | None
    features: StoryFeatures


def group_items(
    items: Sequence[GroupInput],
    *,
    previous: Mapping[int, str] | None = None,
    overrides: Mapping[int, str] | None = None,
) -> dict[int, str]:
    """`group_stories` on items whose features are computed here."""
    stories = [StoryInput(item.item_id, item.language, features_of(item)) for item in items]
    return group_stories(stories, previous=previous, overrides=overrides)


Pairs = list[tuple[int, int]]
#: Starts a computation elsewhere (another process) and returns a function that waits for its result.
RunBeside = Callable[[Callable[[], Pairs]], Callable[[], Pairs]]


def group_stories(
    stories: Sequence[StoryInput],
    *,
    previous: Mapping[int, str] | None = None,
    overrides: Mapping[int, str] | None = None,
    run_beside: RunBeside | None = None,
) -> dict[int, str]:
    """Item id -> group key for every item (a story told once is a group of one).

    `previous` holds keys from an earlier run, so a group keeps its key when it grows; `overrides` holds
    editors' merges and splits (see `group_overrides`), which are never undone by this function.
    The two sources of candidates (words by LSH; titles' entities across languages) are found and
    confirmed independently; `run_beside` may run the entities' side on another core meanwhile.
    """
    previous = previous or {}
    overrides = overrides or {}
    features = [s.features for s in stories]
    compared = [_Story(f) for f in features]
    languages = [s.language for s in stories]
    ids = [s.item_id for s in stories]
    fixed = {i for i, item_id in enumerate(ids) if item_id in overrides}

    def confirmed(candidates: set[tuple[int, int]]) -> Pairs:
        # Each side skips pairs it has joined already; the groups are the connected components of all
        # confirmed pairs, whatever the order or the side that confirmed them.
        uf = _UnionFind(len(stories))
        out: Pairs = []
        for i, j in candidates:
            if i in fixed or j in fixed or uf.find(i) == uf.find(j):
                continue
            if _same_story(compared[i], compared[j], languages[i], languages[j]):
                uf.union(i, j)
                out.append((i, j))
        return out

    def entity_side() -> Pairs:
        return confirmed(_entity_candidates(features, languages))

    wait = run_beside(entity_side) if run_beside is not None else entity_side
    pairs = confirmed(_lsh_candidates(features))
    pairs.extend(wait())
    uf = _UnionFind(len(stories))
    for i, j in pairs:
        uf.union(i, j)
    clusters: dict[int, list[int]] = {}
    for idx in range(len(stories)):
        clusters.setdefault(uf.find(idx), []).append(ids[idx])
    out: dict[int, str] = {}
    taken: set[str] = set()
    # Oldest story first: when a group splits, the part with its oldest item keeps the key.
    for member_ids in sorted(clusters.values(), key=min):
        if member_ids[0] in overrides:
            # An item an editor merged or split is never paired, so it is a cluster of its own, and its key
            # is the editor's. It claims no key here: the story it was merged into keeps its own.
            out[member_ids[0]] = overrides[member_ids[0]]
            continue
        key = _stable_key(member_ids, previous, taken)
        taken.add(key)
        out.update(dict.fromkeys(member_ids, key))
    return out


def _stable_key(ids: Sequence[int], previous: Mapping[int, str], taken: set[str]) -> str:
    """The key most members had before (ties: the oldest member's), else one named after the oldest item;
    never a key that another group has taken."""
    if len(ids) == 1:  # most stories are told once: no need to count
        key = previous.get(ids[0])
        if key is not None and key not in taken:
            return key
    else:
        counts = Counter(previous[i] for i in ids if i in previous)
        oldest_holder = {}
        for i in sorted(ids, reverse=True):
            if i in previous:
                oldest_holder[previous[i]] = i
        for key in sorted(counts, key=lambda k: (-counts[k], oldest_holder[k])):
            if key not in taken:
                return key
    key = base = f"g{min(ids)}"
    n = 1
    while key in taken:
        n += 1
        key = f"{base}-{n}"
    return key


def choose_representative(members: Sequence[GroupInput]) -> int:
    """The item that stands for its group: the member's own source first, then the richest summary.

    "Own source" means the source speaks for a member organisation the group's items name (the press
    room of the company the story is about). When several do (a release saying "Nykode, a member of Oslo
    Cancer Cluster"), the member named by more of the items is the story's subject.
    """
    named = Counter(mid for m in members for mid in set(m.members))

    def rank(m: GroupInput) -> tuple[int, int, float, int]:
        own = named.get(m.source_member_id, 0) if m.source_member_id else 0
        published = m.published.timestamp() if m.published else 0.0
        return (own, len(m.summary), -published, -m.item_id)

    return max(members, key=rank).item_id


def representatives(items: Sequence[GroupInput], groups: Mapping[int, str]) -> dict[str, int]:
    """Group key -> the item id that represents it."""
    by_key: dict[str, list[GroupInput]] = {}
    for item in items:
        key = groups.get(item.item_id)
        if key is not None:
            by_key.setdefault(key, []).append(item)
    return {key: choose_representative(members) for key, members in by_key.items()}
