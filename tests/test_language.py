"""English or Norwegian, from short news titles and summaries."""

from __future__ import annotations

import threading

import pytest

from pipeline import language
from pipeline.language import detect_language


@pytest.mark.parametrize(
    "text",
    [
        "Kreftforeningen gir 30 millioner kroner til forskning på immunterapi",
        "Ny kreftvaksine testes på Radiumhospitalet",
        "Kreftregisteret: Flere overlever kreft enn noen gang før",
        "Vil gi flere pasienter tilgang til utprøvende behandling",
        "Regjeringen vil styrke den kliniske forskningen i sykehusene",
        "Immunterapi mot lungekreft",
        "Oslo Cancer Cluster lanserer nytt program. Programmet skal hjelpe oppstartsselskaper.",
        "Forskere ved Oslo universitetssykehus har utviklet en ny metode",  # with an English proper noun
        "Korleis kan fleire pasientar få delta i kliniske studiar?",  # nynorsk
    ],
)
def test_norwegian(text: str) -> None:
    assert detect_language(text) == "no"


@pytest.mark.parametrize(
    "text",
    [
        "Nykode Therapeutics announces positive results from phase 2 trial",
        "Photocure ASA: Results for the fourth quarter of 2024",
        "New cancer vaccine enters clinical trial at Oslo University Hospital",
        "Oslo Cancer Cluster Innovation Park opens new lab",
        "The Research Council of Norway grants NOK 16 million to cancer research",
        "Ultimovacs ASA - Invitation to Q4 presentation. The company will present its results on Thursday.",
    ],
)
def test_english(text: str) -> None:
    assert detect_language(text) == "en"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Kreft",
        "Ultimovacs",
        "Lytix Biopharma AS",
        "Cancer vaccine",
        "2025-03-12 14:30",
        "Svenska forskare har hittat ett nytt sätt att behandla cancer",
        "Deutsche Forscher haben eine neue Methode zur Behandlung von Krebs gefunden",
        "Les chercheurs ont découvert une nouvelle méthode pour traiter le cancer",
    ],
)
def test_too_short_or_another_language_is_none(text: str) -> None:
    assert detect_language(text) is None


def test_danish_counts_as_norwegian() -> None:
    # Bokmål and Danish are confusable on a title; the Norwegian term list is the closer fit.
    assert detect_language("Danske forskere har fundet en ny metode til at behandle kræft") == "no"


def test_concurrent_first_use_loads_one_model(monkeypatch: pytest.MonkeyPatch) -> None:
    from py3langid.langid import LanguageIdentifier

    loads: list[int] = []
    real = LanguageIdentifier.from_model_file.__func__  # type: ignore[attr-defined]

    def counting(cls: type, *args: object, **kwargs: object) -> object:  # a spy: counts, then loads
        loads.append(1)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(language, "_identifier", None)  # as in a fresh process
    monkeypatch.setattr(LanguageIdentifier, "from_model_file", classmethod(counting))
    results: list[str | None] = []
    threads = [
        threading.Thread(target=lambda: results.append(detect_language("Ny studie viser bedre overlevelse")))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["no"] * 8
    assert len(loads) == 1


def test_long_text_is_read_from_its_head() -> None:
    text = "Pasientene fikk en ny behandling og levde lengre. " * 200 + "English words at the very end. " * 50
    assert detect_language(text) == "no"


def test_function_words_decide_clear_text_without_the_model_and_leave_swedish_to_it() -> None:
    from pipeline.language import _clear_by_function_words

    assert _clear_by_function_words("The company has reported results of the study, which is the first to"
                                    " show this effect in patients with cancer.") == "en"
    assert _clear_by_function_words("Forskerne har fått midler til en ny studie, og det er første gang at"
                                    " pasienter med kreft kan delta på dette.") == "no"
    assert _clear_by_function_words("Forskarna har fått medel till en ny studie och det är första gången"
                                    " som patienter med cancer kan delta på detta.") is None
