"""One entry per story: near-duplicates across sources, EN/NO versions, stable keys, editors' overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.curate import groups
from pipeline.curate.groups import (
    GroupInput,
    choose_representative,
    group_items,
    representatives,
    title_entities,
)

T0 = datetime(2024, 9, 2, 8, 0, tzinfo=UTC)

NYKODE_PRESS = GroupInput(
    item_id=1,
    source_id="nykode",
    source_member_id="nykode",
    members=("nykode",),
    language="en",
    published=T0,
    title="Nykode Therapeutics doses first patient in VB-C-04 trial of VB10.16 with pembrolizumab",
    summary="Nykode Therapeutics ASA today announced that the first patient has been dosed in the phase 2 "
    "VB-C-04 study evaluating its therapeutic HPV16 vaccine VB10.16 in combination with "
    "pembrolizumab in patients with advanced cervical cancer.",
)
OCC_REWRITE = GroupInput(
    item_id=2,
    source_id="occ",
    source_member_id="occ",
    members=("nykode",),
    language="en",
    published=T0 + timedelta(hours=5),
    title="Member news: Nykode doses first patient in new cervical cancer trial",
    summary="Nykode Therapeutics has dosed the first patient in the phase 2 VB-C-04 study, which evaluates "
    "the therapeutic HPV16 vaccine VB10.16 in combination with pembrolizumab in advanced cervical "
    "cancer.",
)
NORWEGIAN = GroupInput(
    item_id=3,
    source_id="dagens-medisin",
    members=("nykode",),
    language="no",
    published=T0 + timedelta(days=1),
    title="Nykode har dosert første pasient i VB-C-04-studien",
    summary="Det norske biotekselskapet har behandlet den første pasienten i fase 2-studien, der vaksinen "
    "kombineres med pembrolizumab hos kvinner med avansert livmorhalskreft.",
)
OTHER_NYKODE_STORY = GroupInput(
    item_id=4,
    source_id="nykode",
    source_member_id="nykode",
    members=("nykode",),
    language="en",
    published=T0 + timedelta(days=2),
    title="Nykode Therapeutics presents positive VB10.16 data in cervical cancer at ASCO",
    summary="Nykode Therapeutics today presented updated results from the VB-C-02 phase 2 trial of VB10.16 "
    "in combination with atezolizumab in advanced cervical cancer at the ASCO Annual Meeting.",
)
INITIUM = GroupInput(
    item_id=5,
    source_id="occ",
    language="en",
    published=T0,
    title="INITIUM trial of Ultimovacs' UV1 vaccine did not meet its primary endpoint",
    summary="Ultimovacs reports that the randomized phase II INITIUM trial did not meet its primary endpoint "
    "of progression-free survival for UV1 vaccination added to nivolumab and ipilimumab in "
    "metastatic malignant melanoma.",
)
NIPU = GroupInput(
    item_id=6,
    source_id="ultimovacs",
    language="en",
    published=T0,
    title="Ultimovacs reports results from the NIPU phase II trial in mesothelioma",
    summary="The randomized NIPU trial evaluated UV1 vaccination added to nivolumab and ipilimumab as "
    "second-line treatment in malignant pleural mesothelioma and met its primary endpoint of "
    "progression-free survival.",
)


def test_press_release_rewrite_and_norwegian_version_are_one_group() -> None:
    result = group_items([NYKODE_PRESS, OCC_REWRITE, NORWEGIAN, OTHER_NYKODE_STORY])
    assert result[1] == result[2] == result[3] == "g1"
    assert result[4] == "g4"  # same company, same vaccine, another trial: another story


def test_two_trials_of_one_company_are_two_stories() -> None:
    # The words overlap a lot, but each title names a trial the other item never mentions.
    initium, nipu = (groups._Story(groups.features_of(item)) for item in (INITIUM, NIPU))
    assert groups.jaccard(initium.words, nipu.words) > 0.4
    result = group_items([INITIUM, NIPU])
    assert result[5] != result[6]


def test_same_story_far_apart_in_time_is_not_grouped() -> None:
    later = GroupInput(**{**OCC_REWRITE.__dict__, "item_id": 9, "published": T0 + timedelta(days=60)})
    result = group_items([NYKODE_PRESS, later])
    assert result[1] != result[9]


def test_word_for_word_republication_is_grouped() -> None:
    copy = GroupInput(**{**INITIUM.__dict__, "item_id": 7, "source_id": "occ-incubator"})
    assert group_items([INITIUM, copy]) == {5: "g5", 7: "g5"}


def test_keys_are_stable_across_runs_and_editors_overrides_win() -> None:
    previous = {2: "g-earlier"}
    result = group_items([NYKODE_PRESS, OCC_REWRITE, OTHER_NYKODE_STORY], previous=previous)
    assert result[1] == result[2] == "g-earlier"
    # An editor split item 2 out and merged item 4 into the first story.
    overrides = {2: "split-2", 4: "g-earlier"}
    result = group_items(
        [NYKODE_PRESS, OCC_REWRITE, OTHER_NYKODE_STORY], previous=previous, overrides=overrides
    )
    assert result == {1: "g1", 2: "split-2", 4: "g-earlier"}


def test_an_older_item_merged_into_a_newer_story_leaves_that_story_its_key() -> None:
    # The editor merged item 1 into item 4's story "g4": deciding stored "g4" as item 1's key already.
    previous = {1: "g4", 2: "g1", 4: "g4"}
    stories = [NYKODE_PRESS, OCC_REWRITE, OTHER_NYKODE_STORY]
    result = group_items(stories, previous=previous, overrides={1: "g4"})
    assert result[1] == result[4] == "g4"
    assert result[2] == "g1"  # the story item 1 left keeps its key


def test_representative_is_the_members_own_source_then_the_richest_summary() -> None:
    # Nykode's own press room wins over the cluster's longer rewrite.
    richer_rewrite = GroupInput(**{**OCC_REWRITE.__dict__, "summary": OCC_REWRITE.summary * 2})
    assert choose_representative([richer_rewrite, NORWEGIAN, NYKODE_PRESS]) == 1
    # Without the member's own source, the richest summary wins.
    assert choose_representative([richer_rewrite, NORWEGIAN]) == 2
    assert representatives([NYKODE_PRESS, OCC_REWRITE, NORWEGIAN], {1: "a", 2: "a", 3: "b"}) == {
        "a": 1,
        "b": 3,
    }


def test_title_entities_keep_codes_figures_and_names() -> None:
    entities, distinctive, codes = title_entities("Cancer in Norway 2023: 37,000 new cancer cases")
    assert entities == {"cancer", "norway", "2023", "37000"}
    assert distinctive == {"37000"}
    assert codes == {"37000"}
    _, _, codes = title_entities(
        "Ultimovacs announces topline results from the INITIUM phase II trial of UV1"
    )
    assert codes == {"initium", "uv1"}


def test_figures_are_read_whole_whatever_their_thousands_separators() -> None:
    text = "NOK 1 000 000 for 37\u00a0000 patients, 12,500 doses; 2023 2024 and 12 3456 are not one figure"
    assert groups.text_codes(text) >= {"1000000", "37000", "12500", "2023", "2024", "12", "3456"}
    assert not groups.text_codes(text) & {"1", "000", "37", "500", "20232024", "123456"}


def test_candidates_come_from_buckets_not_all_pairs() -> None:
    # 400 unrelated items: LSH proposes far fewer pairs than the 79,800 an all-pairs comparison would.
    words = [f"w{i}x" for i in range(4000)]
    items = [
        GroupInput(
            item_id=i,
            title=" ".join(words[i * 10 : i * 10 + 4]),
            summary=" ".join(words[i * 10 + 4 : i * 10 + 10]),
            published=T0,
        )
        for i in range(400)
    ]
    features = [groups.features_of(item) for item in items]
    assert len(groups._lsh_candidates(features)) < 400
    # Identical items always meet in a bucket.
    twins = [features[0], features[1], features[0]]
    assert (0, 2) in groups._lsh_candidates(twins)
    assert len(set(group_items(items).values())) == 400


def test_empty_items_stay_alone() -> None:
    blank = [GroupInput(item_id=i, title="", summary="") for i in range(3)]
    assert group_items(blank) == {0: "g0", 1: "g1", 2: "g2"}


def test_a_product_code_alone_does_not_join_two_languages() -> None:
    # Every Lytix story names LTX-315: an English trial result and a Norwegian story about a new trial
    # share the company and the code, but no figure or other name from the release itself.
    english = GroupInput(
        item_id=20,
        language="en",
        published=T0,
        source_id="lytix",
        title="Lytix Biopharma reports positive data from phase II ATLAS-IT-05 study of LTX-315",
        summary="In patients with advanced melanoma who had progressed on anti-PD-1 therapy, intratumoral "
        "LTX-315 in combination with pembrolizumab gave durable responses.",
    )
    norwegian = GroupInput(
        item_id=21,
        language="no",
        published=T0,
        source_id="dagens-medisin",
        title="Lytix starter ny studie med LTX-315 sammen med immunterapi",
        summary="Den første pasienten er behandlet i en fase 2-studie der LTX-315 kombineres med en "
        "sjekkpunkthemmer hos pasienter med føflekkreft.",
    )
    result = group_items([english, norwegian])
    assert result[20] != result[21]


def test_norwegian_acronym_twins_count_as_the_same_entity() -> None:
    english = GroupInput(
        item_id=30,
        language="en",
        published=T0,
        source_id="forskningsradet",
        title="Research Council of Norway grants NOK 50 million to AI projects in health",
        summary="Seven projects will use machine learning to improve cancer diagnostics.",
    )
    norwegian = GroupInput(
        item_id=31,
        language="no",
        published=T0,
        source_id="forskningsradet",
        title="Forskningsrådet gir 50 millioner kroner til KI-prosjekter i helse",
        summary="Sju prosjekter skal bruke maskinlæring til å forbedre kreftdiagnostikk.",
    )
    assert group_items([english, norwegian]) == {30: "g30", 31: "g30"}


def test_a_group_that_splits_leaves_its_key_to_its_oldest_part() -> None:
    # Items 5 and 6 were one story ("g5"); re-curated they no longer match: two stories, two keys.
    result = group_items([INITIUM, NIPU], previous={5: "g5", 6: "g5"})
    assert result[5] == "g5" and result[6] != "g5"


def _reference_signature(hashes: list[int]) -> list[int]:
    """One-permutation MinHash with rotation densification, item by item in plain Python."""
    bins = groups.BINS
    minimum: dict[int, int] = {}
    for h in hashes:
        b, value = h % bins, h // bins
        minimum[b] = min(value, minimum.get(b, value))
    out = []
    for b in range(bins):
        distance = next(d for d in range(bins) if (b + d) % bins in minimum)
        out.append(minimum[(b + distance) % bins] + (distance << 32))
    return out


@pytest.mark.parametrize("block", [groups.SIGNATURE_BLOCK, 7])
def test_batch_signatures_equal_item_by_item_minhash(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    import random

    monkeypatch.setattr(groups, "SIGNATURE_BLOCK", block)  # one block, and many with a partial last one
    from array import array

    rng = random.Random(3)
    sizes = [rng.choice([0, 1, 2, 5, 30, 200]) for _ in range(200)]
    word_sets = [list({rng.getrandbits(32) for _ in range(size)}) for size in sizes]
    features = [
        groups.StoryFeatures(array("I", hashes).tobytes(), frozenset(), frozenset(), "", "", 0, b"")
        for hashes in word_sets
    ]
    signature, has_words = groups._signatures(features)
    for i, hashes in enumerate(word_sets):
        assert bool(has_words[i]) == bool(hashes)
        if hashes:
            assert signature[:, i].tolist() == _reference_signature(hashes)


def test_word_hashes_leave_out_function_words_and_survive_a_full_cache(monkeypatch) -> None:
    import zlib
    from array import array

    def expected(words: set[str]) -> set[int]:
        out = set()
        for word in words:
            h = (zlib.crc32(word.encode()) * 0x9E3779B1) & 0xFFFFFFFF
            out.add(h ^ (h >> 15))
        return out

    words = "the vaccine and the trial of nykode og studien".split()
    content = {"vaccine", "trial", "nykode", "studien"}
    assert set(array("I", groups._word_hashes(words))) == expected(content)
    # A cache too full for the next text is reset before it learns that text's words: every hash is
    # still there, function words still left out.
    monkeypatch.setattr(groups, "_HASH_CACHE_MAX", len(groups._hash_cache) + 3)
    more = "a new phase of the radspherin programme in oslo".split()
    more_content = {"phase", "radspherin", "programme", "oslo"}
    assert set(array("I", groups._word_hashes(more))) == expected(more_content)
    assert set(array("I", groups._word_hashes(words))) == expected(content)


def test_entity_candidates_are_the_pairs_that_share_an_entity_pair_with_a_code_in_a_window() -> None:
    import random
    from itertools import combinations

    rng = random.Random(5)
    names = ["nykode", "ultimovacs", "oslo", "vb10 16", "uv1", "37000", "initium", "ltx 315", "dnb"]
    codes_of = {"vb10 16", "uv1", "37000", "initium", "ltx 315"}
    features, languages = [], []
    for n in range(400):
        # The first 80 all pair "nykode" with "uv1" in one window: a bucket too large to expand.
        entities = frozenset({"nykode", "uv1"} if n < 80 else rng.sample(names, rng.randint(0, 4)))
        codes = entities & codes_of
        blank = groups.story_features("", "", None)
        features.append(
            blank._replace(
                entities=entities,
                codes=codes,
                slot=0 if n < 80 else rng.randint(0, 6),
                entity_pairs=groups._entity_pairs(entities, codes),
            )
        )
        languages.append(rng.choice(["en", "no", None]))
    # The rule, item by item: two shared title entities of which one is a code, in one time window of
    # either alignment, and not both in the same known language.
    buckets: dict[tuple[int, int, str, str], set[int]] = {}
    for idx, f in enumerate(features):
        for a, b in combinations(sorted(f.entities), 2):
            if a in f.codes or b in f.codes:
                for alignment in (0, 1):
                    buckets.setdefault((alignment, (f.slot + alignment) >> 1, a, b), set()).add(idx)
    expected = {
        (i, j)
        for members in buckets.values()
        if 1 < len(members) <= groups.MAX_BUCKET
        for i, j in combinations(sorted(members), 2)
        if languages[i] is None or languages[i] != languages[j]
    }
    assert expected
    assert any(len(m) > groups.MAX_BUCKET for m in buckets.values())  # too large to expand: left out
    assert groups._entity_candidates(features, languages) == expected
