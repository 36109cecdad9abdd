"""Curating one stored item: themes with evidence, noise, members, trial links, language, score."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.curate.curation import curate_item
from pipeline.curate.noise import NoiseMatcher
from pipeline.curate.themes import ThemeMatcher
from pipeline.types import Evidence, Source, StoredItem

T0 = datetime(2024, 9, 2, 8, 0, tzinfo=UTC)
MEMBERS = (("nykode", ("Nykode Therapeutics", "Nykode")), ("ous", ("Oslo University Hospital", "OUS")))


def item(title: str, summary: str, language: str | None = None) -> StoredItem:
    return StoredItem(
        id=1,
        source_id="s",
        guid="g",
        url="https://example.org/1",
        canonical_url="https://example.org/1",
        title=title,
        summary_html="",
        summary_text=summary,
        published=T0,
        first_seen=T0,
        language=language,
    )  # type: ignore[arg-type]


SOURCE = Source(id="dagens-medisin", name="Dagens Medisin", kind="feed", url="https://example.org/feed")


def test_curation_of_a_trial_story(matcher: ThemeMatcher, noise: NoiseMatcher) -> None:
    result = curate_item(
        item(
            "Nykode doses first patient in VB-C-04 trial",
            "The phase 2 study (NCT05120345) at Oslo University Hospital tests VB10.16 with pembrolizumab.",
            "en",
        ),
        matcher=matcher,
        noise_rules=noise,
        members=MEMBERS,
        source=SOURCE,
    )
    themes = {t.theme: t for t in result.tags}
    assert result.tags[0].theme == "clinical-trials"
    assert Evidence("NCT05120345", "pattern") in themes["clinical-trials"].evidence
    assert Evidence("pembrolizumab", "summary") in themes["immuno-oncology"].evidence
    assert result.members == ("nykode", "ous")
    assert result.trials == (("NCT05120345", "https://clinicaltrials.gov/study/NCT05120345"),)
    assert result.noise is None and result.language == "en" and result.score > 0


def test_language_from_feed_then_source_then_detector(matcher: ThemeMatcher, noise: NoiseMatcher) -> None:
    calls: list[str] = []

    def detector(text: str) -> str:
        calls.append(text)
        return "no"

    norwegian_source = Source(id="nrk", name="NRK", kind="feed", url="https://example.org/nrk", language="no")
    text = ("Kreftvaksinen skreddersys", "Forskere lager vaksiner basert på mutasjoner.")
    assert (
        curate_item(
            item(*text, "en"),
            matcher=matcher,
            noise_rules=noise,
            members=(),
            source=norwegian_source,
            detect_language=detector,
        ).language
        == "en"
    )
    assert (
        curate_item(
            item(*text),
            matcher=matcher,
            noise_rules=noise,
            members=(),
            source=norwegian_source,
            detect_language=detector,
        ).language
        == "no"
    )
    assert calls == []
    assert (
        curate_item(
            item(*text),
            matcher=matcher,
            noise_rules=noise,
            members=(),
            source=SOURCE,
            detect_language=detector,
        ).language
        == "no"
    )
    assert calls == ["Kreftvaksinen skreddersys\nForskere lager vaksiner basert på mutasjoner."]


def test_source_default_themes_and_member_names_make_an_item_relevant(
    matcher: ThemeMatcher, noise: NoiseMatcher
) -> None:
    eu_page = Source(
        id="eu-echos", name="ECHoS", kind="page", url="https://example.org/echos", themes=("eu-projects",)
    )
    result = curate_item(
        item("Newsletter no. 4 is out", "Read about our partners."),
        matcher=matcher,
        noise_rules=noise,
        members=MEMBERS,
        source=eu_page,
    )
    assert [t.theme for t in result.tags] == ["eu-projects"]
    assert result.noise is None
    renamed = curate_item(
        item("Targovax bytter navn til Nykode", "Aksjen handles fra mandag."),
        matcher=matcher,
        noise_rules=noise,
        members=MEMBERS,
        source=SOURCE,
    )
    assert renamed.members == ("nykode",) and renamed.noise is None
    off_topic = curate_item(
        item("Været blir mildere i helgen", "Opptil ti grader og sol lørdag."),
        matcher=matcher,
        noise_rules=noise,
        members=MEMBERS,
        source=SOURCE,
    )
    assert off_topic.noise is not None and off_topic.noise.startswith("Off-topic")


def test_identifiers_are_found_wherever_they_are_whatever_the_scan_probed(
    matcher: ThemeMatcher, noise: NoiseMatcher
) -> None:
    from pipeline.curate.trials import trial_links

    # curate_item runs an identifier's pattern only where its scan probed the identifier's letters (or a
    # registry number's shape): it must find what searching the whole text finds.
    cases = [
        ("Trial NCT01234567 opens", "Recruiting now."),
        ("Function of the junction", "Enrolment in (NCT07654321) and ISRCTN12345678 is open."),
        ("Distinct sanctions", "No identifier here, only words with n-c-t inside: function, instinct."),
        ("EU trial 2023-501234-12-00", "EudraCT 2017-001234-56 continues; NCT1234567 is too short."),
        ("Grant agreement No 101057513", "The project is funded under tilskuddsavtale nr. 101136580."),
        ("Nytt prosjekt", "Finansiert gjennom tilskuddsavtalen; grant agreement number 101136580 i EU."),
    ]
    for title, summary in cases:
        result = curate_item(
            item(title, summary, "en"), matcher=matcher, noise_rules=noise, members=MEMBERS, source=SOURCE
        )
        assert result.trials == trial_links(f"{title}\n{summary}")
        assert result.tags == matcher.tag(title, summary)  # the standalone matcher searches everything
    grants = item(*cases[4], "en")
    found = curate_item(grants, matcher=matcher, noise_rules=noise, members=MEMBERS, source=SOURCE)
    patterns = [e.term for t in found.tags for e in t.evidence if e.where == "pattern"]
    assert patterns == ["Grant agreement No 101057513", "tilskuddsavtale nr. 101136580"]


def test_odd_text_scans_the_same_joined_or_alone_and_tags_as_the_standalone_matcher(
    matcher: ThemeMatcher, noise: NoiseMatcher
) -> None:
    import random

    from pipeline.curate.members import member_matcher
    from pipeline.curate.themes import PROBE_ENTRIES, CurationIndex

    # Title and summary are scanned joined, each text's matches a slice of the scan: on text with
    # multi-byte and astral characters, characters whose lowercase is longer, separators and acronyms
    # next to anything, the slices must be what scanning each text alone finds.
    index = CurationIndex(matcher.entries, noise.entries, member_matcher(MEMBERS).entries, PROBE_ENTRIES)
    pieces = [*"abcEUPDLT -\u2013/.,;()\"'\u00ab\u2026\u00a0", "\u0130", "\u00df", "\U0001f600", "e\u0301"]
    terms = [
        *("PD-1", "PD-L1", "EU", "eu", "CAR T", "immunterapien", "kreftimmunterapi", "TIL", "til"),
        *("NCT01234567", "ISRCTN12345678", "2023-501234-12-00", "grant agreement No 101057513"),
        "Nykode Therapeutics",
    ]
    rng = random.Random(11)

    def text(words: int) -> str:
        parts = [
            rng.choice(terms) if rng.random() < 0.5 else "".join(rng.choices(pieces, k=rng.randint(0, 5)))
            for _ in range(words)
        ]
        return " ".join(parts) if rng.random() < 0.8 else "".join(parts)

    for _ in range(300):
        title, summary = text(rng.randint(0, 6)), text(rng.randint(0, 30))
        joined = index.scan_each((title, summary))
        assert joined == [index.scan_each((title,))[0], index.scan_each((summary,))[0]], (title, summary)
        result = curate_item(
            item(title, summary, "en"), matcher=matcher, noise_rules=noise, members=MEMBERS, source=SOURCE
        )
        assert result.tags == matcher.tag(title, summary), (title, summary)
