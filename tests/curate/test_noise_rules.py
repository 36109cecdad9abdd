"""Off-topic detection with reasons: job adverts, privacy notices, quarterly reports, greetings, off-topic."""

from __future__ import annotations

import pytest

from pipeline.curate.noise import NoiseMatcher, detect_noise
from pipeline.curate.themes import ThemeMatcher, noise_rules_from_mapping
from pipeline.errors import ConfigError
from pipeline.types import NoiseRule, ThemeTerms


@pytest.mark.parametrize(
    ("title", "summary", "reason_start"),
    [
        ("Job opening: Clinical Project Manager", "Apply for the position by 1 May.", "Job advert"),
        ("Ledig stilling: postdoktor i kreftimmunologi", "Søknadsfrist 15. mars.", "Job advert"),
        ("Cookie policy", "This website uses cookies to give you the best experience.", "Cookie or privacy"),
        (
            "Om informasjonskapsler",
            "Vi bruker informasjonskapsler for å analysere trafikken.",
            "Cookie or privacy",
        ),
        (
            "Nykode Therapeutics: Third quarter 2024 results",
            "Revenue of USD 1.2 million.",
            "Generic quarterly",
        ),
        (
            "BerGenBio: Kvartalsrapport for fjerde kvartal 2023",
            "Driftskostnader på 80 millioner.",
            "Generic quarterly",
        ),
        ("Merry Christmas and a happy new year", "Our office is closed from 22 December.", "Greeting"),
        (
            "Parking garage closed for maintenance",
            "The ventilation system is replaced on Saturday.",
            "Off-topic",
        ),
    ],
)
def test_noise_gets_a_reason(noise: NoiseMatcher, title: str, summary: str, reason_start: str) -> None:
    reason = noise.detect(title, summary)
    assert reason is not None and reason.startswith(reason_start)


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        (
            "Nykode doses first patient in VB-C-04 trial",
            "The phase 2 study evaluates VB10.16 with pembrolizumab.",
        ),
        ("Kreftimmunterapi gir flere langtidsoverlevere", "Nye tall viser at flere pasienter lever lenge."),
        ("Photocure publishes data on blue light cystoscopy", "A real-world study found fewer recurrences."),
    ],
)
def test_news_is_not_noise(noise: NoiseMatcher, matcher: ThemeMatcher, title: str, summary: str) -> None:
    # As curate_item does: an item with a theme is relevant.
    assert noise.detect(title, summary, relevant=bool(matcher.tag(title, summary))) is None


def test_quarterly_rule_reads_only_titles(noise: NoiseMatcher) -> None:
    # A title-only rule: a story that mentions a quarter in passing is still news.
    assert (
        noise.detect(
            "Oncoinvent starts phase 2 trial",
            "Enrolment will be completed in the third quarter of 2025.",
            relevant=True,
        )
        is None
    )
    assert noise.detect("Oncoinvent: third quarter 2025", "Enrolment is complete.", relevant=True) is not None


def test_relevant_items_are_never_off_topic_for_lack_of_vocabulary(noise: NoiseMatcher) -> None:
    title, summary = "Targovax bytter navn til Circio", "Aksjen handles fra mandag under nytt navn."
    assert noise.detect(title, summary) is not None
    assert noise.detect(title, summary, relevant=True) is None
    # ... but a job advert stays a job advert.
    assert noise.detect("Vacancy: Chief Medical Officer", "", relevant=True) is not None


def test_detect_noise_compiles_rules_once_and_returns_first_reason() -> None:
    rules = (
        NoiseRule(
            id="job-advert", reason="Job advert", terms=ThemeTerms(en=("vacancy",), no=("ledig stilling",))
        ),
        NoiseRule(id="off-topic", reason="Off-topic", require=ThemeTerms(en=("cancer",), no=("kreft",))),
    )
    assert detect_noise("Vacancy at the lab", "cancer research", rules) == "Job advert"
    assert detect_noise("Ny ledig stilling", "", rules) == "Job advert"
    assert detect_noise("Football results", "Ullern won.", rules) == "Off-topic"
    assert detect_noise("Lungekreften øker", "", rules) is None  # "kreft" inside a compound counts


def test_loader_defaults_reason_and_checks_shape() -> None:
    rules = noise_rules_from_mapping(
        {
            "noise": {
                "job-advert": {"en": ["vacancy"], False: ["ledig stilling"]},
                "quarterly-report": {"reason": "Quarterly report", "where": "title", "en": ["Q3"]},
            }
        }
    )
    assert rules[0].reason == "Job advert" and rules[0].terms.no == ("ledig stilling",)
    assert rules[1].where == "title"
    with pytest.raises(ConfigError, match="where"):
        noise_rules_from_mapping({"x": {"en": ["a"], "where": "body"}})
    with pytest.raises(ConfigError, match="no terms"):
        noise_rules_from_mapping({"x": {"reason": "nothing"}})
