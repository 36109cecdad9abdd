"""Trial identifiers become links to their public registries."""

from __future__ import annotations

from pipeline.curate.trials import trial_links


def test_identifiers_become_registry_links_in_order_without_repeats() -> None:
    text = (
        "The RADSPHERE study (NCT05120345) and its extension, EU CT 2023-504512-21-00, follow the "
        "EudraCT 2017-001234-56 trial. NCT05120345 is recruiting; see also ISRCTN12345678."
    )
    assert trial_links(text) == (
        ("NCT05120345", "https://clinicaltrials.gov/study/NCT05120345"),
        (
            "2023-504512-21-00",
            "https://euclinicaltrials.eu/search-for-clinical-trials/?lang=en&EUCT=2023-504512-21-00",
        ),
        ("2017-001234-56", "https://www.clinicaltrialsregister.eu/ctr-search/search?query=2017-001234-56"),
        ("ISRCTN12345678", "https://www.isrctn.com/ISRCTN12345678"),
    )


def test_look_alikes_are_not_identifiers() -> None:
    assert trial_links("NCT1234567 has seven digits; call +47 2023-123; period 2020-2024; NCT123456789") == ()
