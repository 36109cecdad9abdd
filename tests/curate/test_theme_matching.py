"""Theme tagging on real sentences: case, variants, inflections, compounds, acronyms, patterns, evidence."""

from __future__ import annotations

import pytest

from pipeline.curate.themes import ThemeMatcher, themes_from_mapping
from pipeline.errors import ConfigError
from pipeline.types import Evidence, Theme, ThemeTerms


def small_matcher() -> ThemeMatcher:
    return ThemeMatcher(
        [
            Theme(
                id="immuno-oncology",
                label="Immuno-oncology",
                label_no="Immunonkologi",
                terms=ThemeTerms(
                    en=("immunotherapy", "checkpoint inhibitor", "CAR-T", "PD-1", "PD-L1", "CTLA-4", "ICI"),
                    no=("immunterapi", "kreftvaksine"),
                ),
                exclude=ThemeTerms(en=("allergy immunotherapy",)),
            ),
            Theme(
                id="eu-projects",
                label="EU projects",
                label_no="EU-prosjekter",
                terms=ThemeTerms(en=("EU", "Horizon Europe"), no=("Horisont Europa",)),
            ),
            Theme(
                id="clinical-trials",
                label="Clinical trials",
                label_no="Kliniske studier",
                terms=ThemeTerms(en=("trial",), no=("fase 2",)),
            ),
            Theme(
                id="policy",
                label="Policy",
                label_no="Helsepolitikk",
                terms=ThemeTerms(no=("forskrift",)),
                weight=2.0,
            ),
        ]
    )


def theme_ids(matcher: ThemeMatcher, title: str, summary: str = "") -> set[str]:
    return {t.theme for t in matcher.tag(title, summary)}


@pytest.mark.parametrize(
    "title",
    [
        "IMMUNOTHERAPY gives long-term survival",
        "Immunotherapy gives long-term survival",
        "New immunotherapies for lung cancer",
    ],
)
def test_case_and_plural_do_not_matter(title: str) -> None:
    assert theme_ids(small_matcher(), title) == {"immuno-oncology"}


@pytest.mark.parametrize(
    "title",
    [
        "CAR-T therapy approved for lymphoma",
        "CAR T cells engineered against solid tumours",
        "CAR\u2013T cells (with an en dash)",
        "Two checkpoint inhibitors combined",
    ],
)
def test_hyphen_and_space_variants(title: str) -> None:
    assert theme_ids(small_matcher(), title) == {"immuno-oncology"}


@pytest.mark.parametrize(
    "title",
    [
        "Kreftimmunterapi gir flere langtidsoverlevere",  # compound: the term at the end
        "Immunterapien virket hos halvparten",  # inflection -en
        "Immunterapibehandling blir vanligere",  # compound: the term at the start
        "Den nye kreftvaksinen testes i Oslo",
    ],
)
def test_norwegian_compounds_and_inflections(title: str) -> None:
    assert theme_ids(small_matcher(), title) == {"immuno-oncology"}


def test_short_norwegian_term_takes_inflections_but_needs_boundaries() -> None:
    matcher = small_matcher()
    assert theme_ids(matcher, "Studien går inn i fase 2") == {"clinical-trials"}
    assert "policy" in theme_ids(matcher, "Ny forskrift om kliniske studier")
    assert theme_ids(matcher, "Forskriften trer i kraft") == {"policy"}


@pytest.mark.parametrize(
    "title",
    [
        "Anti-PD-1 antibody doubles response",
        "PD1 blockade in melanoma",
        "PD-L1 expression predicts response",
        "CTLA-4 and PD-1 combined",
        "ICIs in older patients",
    ],
)
def test_acronyms_as_tokens(title: str) -> None:
    assert theme_ids(small_matcher(), title) == {"immuno-oncology"}


@pytest.mark.parametrize(
    "title",
    [
        "Europe's largest cancer meeting opens",
        "A neurology department in Bergen",
        "PD-10 is not a target",
        "Choosing a cosmetic brand",
        "pd-1 written in lower case is not the acronym",
    ],
)
def test_acronyms_do_not_match_inside_words_or_in_lower_case(title: str) -> None:
    assert theme_ids(small_matcher(), title) == set()


def test_eu_matches_as_a_token() -> None:
    assert theme_ids(small_matcher(), "EU-funded consortium starts") == {"eu-projects"}
    assert theme_ids(small_matcher(), "The EU's cancer mission") == {"eu-projects"}


def test_identifiers_by_pattern() -> None:
    matcher = small_matcher()
    tags = matcher.tag("Study opens for inclusion", "Registered as NCT05120345 at ClinicalTrials.gov.")
    assert [t.theme for t in tags] == ["clinical-trials"]
    assert tags[0].evidence == (Evidence(term="NCT05120345", where="pattern"),)
    eu_ct = matcher.tag("Ny studie ved Radiumhospitalet", "Registrert i CTIS med nummer 2023-504512-21-00.")
    assert [t.theme for t in eu_ct] == ["clinical-trials"]
    grant = matcher.tag("Consortium formed", "Funded under grant agreement No 101136580.")
    assert [t.theme for t in grant] == ["eu-projects"]


def test_horizon_europe_without_eu() -> None:
    matcher = small_matcher()
    assert theme_ids(matcher, "Norske miljøer hentet rekordmye fra Horisont Europa") == {"eu-projects"}
    assert theme_ids(matcher, "A Horizon Europe grant for Oslo researchers") == {"eu-projects"}


def test_title_weighs_more_than_summary_and_evidence_says_where() -> None:
    matcher = small_matcher()
    in_title = matcher.tag("Immunotherapy results", "Details follow.")
    in_summary = matcher.tag("Results", "The immunotherapy worked.")
    assert in_title[0].score > in_summary[0].score
    assert in_title[0].evidence == (Evidence(term="immunotherapy", where="title"),)
    assert in_summary[0].evidence == (Evidence(term="immunotherapy", where="summary"),)


def test_a_word_listed_in_both_languages_counts_once() -> None:
    def digital(terms: ThemeTerms) -> ThemeMatcher:
        return ThemeMatcher((Theme(id="digital", label="Digital", label_no="Digital", terms=terms),))

    matcher = digital(ThemeTerms(en=("app", "screening"), no=("app", "Screening")))
    both = matcher.tag("New app for screening", "")
    english_only = digital(ThemeTerms(en=("app", "screening"))).tag("New app for screening", "")
    assert both[0].evidence == (Evidence("app", "title"), Evidence("screening", "title"))
    assert both[0].score == english_only[0].score
    # Each language's rule still finds what only it can: a Norwegian inflection of the shared word.
    assert matcher.tag("Appen er lansert", "")[0].evidence == (Evidence("app", "title"),)


def test_a_term_and_its_plural_listed_both_count_once_per_word() -> None:
    matcher = ThemeMatcher(
        (Theme(id="io", label="IO", label_no="IO", terms=ThemeTerms(en=("NK cell", "NK cells", "vaccine"))),)
    )
    tags = matcher.tag("NK cells and a vaccine", "")
    assert tags[0].evidence == (Evidence("NK cell", "title"), Evidence("vaccine", "title"))
    assert tags[0].score == 4.0  # two words of the title, not three


def test_best_theme_first_and_weight_multiplies_score() -> None:
    tags = small_matcher().tag("Ny forskrift om immunterapi", "")
    assert [t.theme for t in tags] == ["policy", "immuno-oncology"]
    assert tags[0].score == 2 * tags[1].score


def test_source_default_theme_adds_tag_with_source_evidence() -> None:
    tags = small_matcher().tag("Annual meeting of the consortium", "", source_themes=("eu-projects",))
    assert [t.theme for t in tags] == ["eu-projects"]
    assert tags[0].evidence == (Evidence(term="eu-projects", where="source"),)


def test_exclusion_suppresses_theme() -> None:
    assert theme_ids(small_matcher(), "Allergy immunotherapy for hay fever") == set()


def test_real_taxonomy_hard_cases(matcher: ThemeMatcher) -> None:
    assert "immuno-oncology" in theme_ids(
        matcher,
        "Durvalumab plus chemotherapy improves survival",
        "Adding the anti-PD-L1 antibody durvalumab to gemcitabine improved overall survival.",
    )
    assert "precision-medicine" in theme_ids(
        matcher, "New gene expression signature predicts relapse in early breast cancer"
    )
    assert "precision-medicine" in theme_ids(matcher, "Biomarkører kan avsløre hvem som får bivirkninger")
    ai_pathology = theme_ids(matcher, "AI reads prostate biopsies as accurately as pathologists")
    assert {"ai-digital-health", "diagnostics"} <= ai_pathology
    assert "eu-projects" in theme_ids(matcher, "Oncoinvent partner in Horizon Europe consortium")
    assert "diagnostics" in theme_ids(matcher, "Lungekreftscreening kan redde 300 liv i året")


def test_loader_reads_yaml_no_key_and_rejects_bad_shapes() -> None:
    # PyYAML reads a bare `no:` key as False: the loader takes it as Norwegian.
    themes = themes_from_mapping(
        {"themes": {"events": {"label": "Events", "terms": {"en": ["webinar"], False: ["frokostmøte"]}}}}
    )
    assert themes[0].terms == ThemeTerms(en=("webinar",), no=("frokostmøte",))
    assert themes[0].label_no == "Events"
    with pytest.raises(ConfigError, match="has no terms"):
        themes_from_mapping({"events": {"label": "Events"}})
    with pytest.raises(ConfigError, match="must be a list"):
        themes_from_mapping({"events": {"terms": {"en": "webinar"}}})
    with pytest.raises(ConfigError, match="unknown languages"):
        themes_from_mapping({"events": {"terms": {"de": ["Tagung"]}}})


def test_real_taxonomy_themes_in_configured_order(themes: tuple[Theme, ...]) -> None:
    assert [t.id for t in themes] == [
        "immuno-oncology",
        "precision-medicine",
        "eu-projects",
        "clinical-trials",
        "diagnostics",
        "funding-investment",
        "events",
        "policy",
        "ai-digital-health",
    ]
    assert all(t.label and t.label_no and t.terms.en and t.terms.no for t in themes)


def test_one_scan_of_a_title_and_its_summary_keeps_them_apart() -> None:
    from pipeline.curate.themes import TermIndex

    index = TermIndex([("Oslo Cancer Cluster", "name", 0), ("EU", "acronym", 1), ("immunterapi", "no", 2)])
    # No match spans the two texts, and each hit is checked against its own text's capitals.
    texts = ("Nytt fra Oslo", "Cancer Cluster-medlemmer møtte EU om kreftimmunterapi")
    title, summary = index.find_each(texts)
    assert title == [set()] and summary == [{1, 2}]
    title, summary = index.find_each(("Ærlig talt: EU og Oslo Cancer Cluster", "eu-midler"))
    assert title == [{0, 1}] and summary == [set()]
