"""English or Norwegian, from short news titles and summaries."""

from __future__ import annotations

import threading
from pathlib import Path

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
    loads: list[int] = []
    real = language._load_identifier

    def counting() -> object:  # a spy: counts, then loads
        loads.append(1)
        return real()

    monkeypatch.setattr(language, "_identifier", None)  # as in a fresh process
    monkeypatch.setattr(language, "_load_identifier", counting)
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


# --- the uncompressed model cache ----------------------------------------------------------------------

SAMPLES = (
    "Forskere ved Oslo universitetssykehus har utviklet en ny metode",
    "Photocure ASA: Results for the fourth quarter of 2024",
    "Svenska forskare har hittat ett nytt sätt att behandla cancer",
    "Ny kreftvaksine testes",
)


def _the_package_way() -> object:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(language.CANDIDATES))
    return identifier


def _cache_file() -> Path:
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    path = language.cache_path(MODEL_DIR / MODEL_FILE)
    assert path is not None
    return path


def test_the_model_is_cached_uncompressed_and_then_read_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import py3langid.modelio

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    stale = tmp_path / "pipeline" / "py3langid-0000000000000000.npz"  # another py3langid's model
    stale.parent.mkdir()
    stale.write_bytes(b"old")
    expected = _the_package_way()
    first = language._load_identifier()
    assert _cache_file().parent == tmp_path / "pipeline"
    assert [p.name for p in (tmp_path / "pipeline").iterdir()] == [_cache_file().name]

    def no_decompressing(path: object) -> object:
        raise AssertionError("the cached model should have been read")

    monkeypatch.setattr(py3langid.modelio, "load_model", no_decompressing)
    cached = language._load_identifier()
    for text in SAMPLES:
        assert cached.rank(text) == first.rank(text) == expected.rank(text)  # type: ignore[attr-defined]


def test_a_damaged_cache_is_replaced_and_an_unwritable_one_only_costs_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = _cache_file()
    path.parent.mkdir()
    path.write_bytes(b"PK\x03\x04 not a whole zip file")
    expected = _the_package_way()
    assert language._load_identifier().rank(SAMPLES[0]) == expected.rank(SAMPLES[0])  # type: ignore[attr-defined]
    assert path.stat().st_size > 1_000_000  # rewritten whole

    blocked = tmp_path / "file"
    blocked.write_text("a file where the cache directory would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert language._load_identifier().rank(SAMPLES[1]) == expected.rank(SAMPLES[1])  # type: ignore[attr-defined]
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
