"""Curation throughput: tagging (+ noise, members, trial links) and grouping of generated items.

    python bench/curate_bench.py [--sizes 10000 50000] [--seed 7]

Items are generated from member names, trial codes, template sentences of each theme and the sentences
of the labelled evaluation set (figures and organisations replaced), in English and Norwegian, about
1,900 characters each (a long feed summary). One in twenty is a re-publication of an earlier item by
another source (reworded title, same lede). They are spread over time at about 1,000 items a week (90
members publishing a few items a week each, plus partners and media). Prints items per second per
phase and overall, and how the time per item grows from the smallest to the largest size.

What is timed is the real job (`pipeline.jobs.curate.curate_items`, what `run.py curate` runs) on a
SQLite file: tagging (themes with evidence, noise, members, trial links, score) in a process pool, each
chunk stored as it comes back, then grouping the window and storing the group keys.

`--free-tagging` measures the rest of the job alone: the per-item work (tagging and grouping features)
is done first, untimed, and the pool's workers only hand its results back. What it prints is the most
that any speed-up of the per-item work can give: the cost of storing, grouping and moving the results.
"""

from __future__ import annotations

import argparse
import random
import re
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.jobs import curate as curate_job  # noqa: E402
from pipeline.jobs.curate import curate_items  # noqa: E402
from pipeline.jobs.services import Services  # noqa: E402
from pipeline.types import StoredItem  # noqa: E402

MEMBERS = [
    ("nykode", ("Nykode Therapeutics", "Nykode", "Vaccibody")),
    ("ultimovacs", ("Ultimovacs",)),
    ("oncoinvent", ("Oncoinvent",)),
    ("nordic-nanovector", ("Nordic Nanovector",)),
    ("lytix", ("Lytix Biopharma", "Lytix")),
    ("circio", ("Circio", "Targovax")),
    ("kreftforeningen", ("Kreftforeningen", "Norwegian Cancer Society")),
    ("kreftregisteret", ("Kreftregisteret", "Cancer Registry of Norway")),
    ("photocure", ("Photocure",)),
    ("ous", ("Oslo University Hospital", "Oslo universitetssykehus", "OUS", "Radiumhospitalet")),
    ("occ", ("Oslo Cancer Cluster", "OCC")),
    ("zelluna", ("Zelluna",)),
    ("bergenbio", ("BerGenBio",)),
    ("domore", ("DoMore Diagnostics",)),
    ("radforsk", ("Radforsk",)),
    ("inven2", ("Inven2",)),
    ("icgi", ("Institute for Cancer Genetics and Informatics", "ICGI")),
    ("ntnu", ("NTNU",)),
    ("lymfekreftforeningen", ("Lymfekreftforeningen",)),
    ("blodkreftforeningen", ("Blodkreftforeningen",)),
    ("brystkreftforeningen", ("Brystkreftforeningen",)),
    ("exact-therapeutics", ("EXACT Therapeutics",)),
    ("nec-oncoimmunity", ("NEC OncoImmunity",)),
    ("immunitrack", ("Immunitrack",)),
    ("artbio", ("ARTBIO",)),
    ("pci-biotech", ("PCI Biotech",)),
    ("exact-sciences", ("Exact Sciences",)),
    ("link-medical", ("Link Medical",)),
    ("ge-healthcare", ("GE HealthCare",)),
    ("msd", ("MSD Norge",)),
    ("janssen", ("Janssen",)),
    ("bms", ("Bristol Myers Squibb",)),
    ("astrazeneca", ("AstraZeneca",)),
    ("smart-innovation-norway", ("Smart Innovation Norway",)),
    ("forskningsradet", ("Forskningsrådet", "Research Council of Norway")),
    ("helsedirektoratet", ("Helsedirektoratet", "Norwegian Directorate of Health")),
    ("fhi", ("Folkehelseinstituttet", "FHI")),
    ("sas", ("SAS Institute",)),
    ("uio", ("University of Oslo", "Universitetet i Oslo")),
    ("uib", ("University of Bergen", "Universitetet i Bergen")),
]
EN_SENTENCES = [
    "{org} today announced that the first patient has been dosed in the phase {n} {code} trial.",
    "The study evaluates a therapeutic cancer vaccine in combination with the PD-1 inhibitor pembrolizumab.",
    "Patients with advanced disease will receive the checkpoint inhibitor every three weeks.",
    "The trial is registered as NCT0{d7} and will enrol {m} patients at sites in Norway and Sweden.",
    "{org} has completed a private placement raising NOK {m} million from new and existing investors.",
    "The proceeds will fund clinical development and general corporate purposes.",
    "The consortium is funded by Horizon Europe and brings together partners from eight countries.",
    "Researchers used deep learning on digitised pathology slides to predict recurrence.",
    "The new blood test detects circulating tumour DNA with high sensitivity.",
    "Tumour sequencing with a broad gene panel guides targeted therapy for each patient.",
    "Registration for the annual conference is now open; the programme includes a panel debate.",
    "The Ministry of Health will present the national cancer strategy to parliament in the spring.",
    "Screening with low-dose CT could find lung cancer at an earlier stage.",
    "The company will present the results in an oral presentation at the ESMO Congress.",
    "Overall survival and progression-free survival were secondary endpoints of the study.",
    "The analysis included data from {m} patients treated between 2015 and 2022.",
    "{org} is a member of Oslo Cancer Cluster and is located in the Innovation Park.",
    "The collaboration will combine expertise in immunology, bioinformatics and clinical oncology.",
    "Further details will be given at a webinar for investors and analysts next week.",
    "The results were published in a peer-reviewed journal and presented to the scientific community.",
]
NO_SENTENCES = [
    "{org} har behandlet den første pasienten i en klinisk studie med en ny kreftvaksine.",
    "Studien undersøker om immunterapi gir bedre effekt når den kombineres med strålebehandling.",
    "Pasientene får en sjekkpunkthemmer hver tredje uke i to år.",
    "Selskapet har hentet {m} millioner kroner i en rettet emisjon.",
    "Prosjektet er finansiert av Horisont Europa og har partnere fra åtte land.",
    "Forskerne har brukt kunstig intelligens til å analysere vevsprøver fra kreftpasienter.",
    "Alle pasienter med spredt kreft skal få tilbud om genpanel og persontilpasset behandling.",
    "Helse- og omsorgsministeren la i dag fram den nye kreftstrategien.",
    "Påmeldingen til konferansen er åpen, og programmet er klart.",
    "Screeningprogrammet for tarmkreft skal gjøre det mulig å oppdage kreft tidligere.",
    "{org} er medlem av Oslo Cancer Cluster og holder til i innovasjonsparken.",
    "Resultatene ble presentert på en internasjonal kongress i Chicago.",
    "Totalt {m} pasienter er inkludert i studien ved sykehus i hele landet.",
    "Målet er at flere pasienter skal få tilgang til nye legemidler raskere.",
]
EN_TITLES = [
    "{org} doses first patient in {code} trial",
    "{org} raises NOK {m} million in private placement",
    "{org} presents {code} data at ESMO",
    "New Horizon Europe project on {topic} led by {org}",
    "{org} reports results from the {code} study",
    "AI tool from {org} detects {topic} earlier",
    "{org} joins national consortium on {topic}",
    "Conference on {topic} gathers researchers in Oslo",
]
NO_TITLES = [
    "{org} har dosert første pasient i {code}-studien",
    "{org} henter {m} millioner kroner",
    "{org} starter ny studie innen {topic}",
    "Nytt EU-prosjekt om {topic} ledes av {org}",
    "{org} presenterer resultater fra {code}",
    "Konferanse om {topic} samler forskere i Oslo",
]
TOPICS = [
    "lung cancer",
    "melanoma",
    "prostate cancer",
    "lymphoma",
    "ovarian cancer",
    "colorectal cancer",
    "cell therapy",
    "radiopharmaceuticals",
    "liquid biopsy",
    "digital pathology",
    "cancer vaccines",
]


def _code(rng: random.Random) -> str:
    return f"{rng.choice(['VB', 'UV', 'LTX', 'RAD', 'ZI', 'BGB', 'ONC', 'PCI'])}-{rng.randint(10, 999)}"


_NUMBER = re.compile(r"\d+")
_ORG_NAMES = re.compile("|".join(re.escape(n) for _mid, names in MEMBERS for n in names))


def _fill(template: str, rng: random.Random, org: str, code: str) -> str:
    if "{" not in template:
        # A sentence of the evaluation set: its own figures and organisations replaced, as another story
        # about another member would differ.
        text = _NUMBER.sub(lambda _m: str(rng.randint(2, 999)), template)
        return _ORG_NAMES.sub(lambda _m: rng.choice(MEMBERS)[1][0], text)
    return template.format(
        org=org,
        code=code,
        n=rng.randint(1, 3),
        m=rng.randint(10, 400),
        d7=f"{rng.randint(0, 9_999_999):07d}",
        topic=rng.choice(TOPICS),
    )


def _fixture_text() -> dict[str, tuple[list[str], list[str]]]:
    """Real-looking titles and sentences: those of the labelled evaluation set, by language."""
    import json

    out: dict[str, tuple[list[str], list[str]]] = {"en": ([], []), "no": ([], [])}
    path = ROOT / "tests" / "fixtures" / "themes_eval.jsonl"
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        titles, sentences = out["no" if row["language"] == "no" else "en"]
        titles.append(row["title"])
        sentences.extend(re.split(r"(?<=[.!?])\s+", row["summary"]))
    return out


def generate_items(
    n: int,
    seed: int = 7,
    *,
    per_week: int = 1000,
    duplicate_share: float = 0.05,
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
) -> list[StoredItem]:
    """`n` realistic items in id order, published over n / per_week weeks."""
    rng = random.Random(seed)
    fixture = _fixture_text()
    pools = {
        False: (EN_TITLES + fixture["en"][0], EN_SENTENCES + fixture["en"][1]),
        True: (NO_TITLES + fixture["no"][0], NO_SENTENCES + fixture["no"][1]),
    }
    items: list[StoredItem] = []
    seconds = n / per_week * 7 * 86400
    for i in range(1, n + 1):
        published = start + timedelta(seconds=seconds * i / n)
        if items and rng.random() < duplicate_share:
            original = items[max(0, len(items) - rng.randint(1, 200))]
            title = "Member news: " + original.title.split(" ", 1)[-1]
            items.append(
                replace(
                    original,
                    id=i,
                    guid=f"dup-{i}",
                    source_id="occ",
                    title=title,
                    url=f"https://example.org/occ/{i}",
                    canonical_url=f"https://example.org/occ/{i}",
                    published=published,
                    first_seen=published,
                )
            )
            continue
        norwegian = rng.random() < 0.35
        org = rng.choice(MEMBERS)[1][0]
        code = _code(rng)
        titles, sentences = pools[norwegian]
        title = _fill(rng.choice(titles), rng, org, code)
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < 1900:
            parts.append(_fill(rng.choice(sentences), rng, org, code))
        source_id = rng.choice(MEMBERS)[0]
        items.append(
            StoredItem(
                id=i,
                source_id=source_id,
                guid=f"g-{i}",
                url=f"https://example.org/{source_id}/{i}",
                canonical_url=f"https://example.org/{source_id}/{i}",
                title=title,
                summary_html="",
                summary_text=" ".join(parts),
                published=published,
                first_seen=published,
                language="no" if norwegian else "en",
            )
        )
    return items


NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def prepared_store(items: Sequence[StoredItem], folder: str) -> Services:
    """A SQLite store in `folder` holding `items` (not curated yet), and the repository's sources.yaml."""
    from pipeline.config import load_config
    from pipeline.store import Store
    from pipeline.types import ParsedItem

    store = Store.open(f"sqlite:///{folder}/bench.db", require_schema=False)
    store.upgrade()
    by_source: dict[str, list[ParsedItem]] = {}
    for it in items:
        by_source.setdefault(it.source_id, []).append(
            ParsedItem(
                guid=it.guid,
                url=it.url,
                canonical_url=it.canonical_url,
                title=it.title,
                summary_html="",
                summary_text=it.summary_text,
                published=it.published,
                language=it.language,
            )
        )
    with store.transaction() as conn:
        for source_id, parsed in by_source.items():
            store.items.ingest(conn, source_id, parsed, NOW)
    return Services(config=load_config(ROOT / "sources.yaml"), store=store, clock=lambda: NOW)


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user + system) of this process and of its finished children (the pool workers)."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, children.ru_utime + children.ru_stime


def run(n: int, *, seed: int = 7, workers: int | None = None, free_tagging: bool = False) -> dict[str, float]:
    """Curate `n` generated items as `run.py curate` does, into a SQLite file: tagging in a process pool
    (one worker per core unless `workers` says otherwise) with each chunk stored as it comes, then
    grouping and storing the group keys. Loading the items to curate is not timed.

    Returns seconds: "total", "tag_store" (until the last chunk was stored), "group" (the rest)."""
    items = generate_items(n, seed)
    with tempfile.TemporaryDirectory(prefix="curate-bench-") as folder:
        svc = prepared_store(items, folder)
        try:
            pending = svc.store.curations.to_curate()
            if free_tagging:
                _tag_in_advance(svc, pending)
            stored_at = [0.0]

            def progress(_done: int, _total: int) -> None:
                stored_at[0] = time.perf_counter()

            cpu0 = _cpu_seconds()
            t0 = time.perf_counter()
            report = curate_items(svc, pending, workers=workers, on_progress=progress)
            t1 = time.perf_counter()
            cpu1 = _cpu_seconds()
        finally:
            svc.close()
            _tag_for_real()
    # on_progress runs before its chunk is stored: the last chunk's storing counts as grouping's here
    return {
        "total": t1 - t0,
        "tag_store": stored_at[0] - t0,
        "group": t1 - stored_at[0],
        "cpu_main": cpu1[0] - cpu0[0],
        "cpu_children": cpu1[1] - cpu0[1],
        "curated": float(report.curated),
        "several": float(report.stories_told_by_several),
    }


_REAL_CHUNK = curate_job._curate_chunk_with


def _tag_in_advance(svc: Services, pending: Sequence[StoredItem]) -> None:
    """Curate `pending` now, in this process, and let the job's chunks (in the pool's forked workers, which
    inherit this) look their results up instead of curating: what the job then spends is all but tagging."""
    ctx = curate_job.curation_context(svc.config)
    done = _REAL_CHUNK(ctx, svc.config.settings.digest, NOW, [(item, []) for item in pending])
    by_id = {record.item_id: (record, features) for record, features in done}
    curate_job._curate_chunk_with = lambda _ctx, _settings, _now, tasks: [  # type: ignore[assignment]
        by_id[item.id] for item, _decisions in tasks
    ]


def _tag_for_real() -> None:
    curate_job._curate_chunk_with = _REAL_CHUNK  # type: ignore[assignment]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=None, help="tagging processes (default: one per core)")
    parser.add_argument(
        "--free-tagging", action="store_true", help="time all but the per-item work (done first, untimed)"
    )
    args = parser.parse_args(argv)
    if args.free_tagging:
        print("--free-tagging: the per-item work is done in advance; what follows is the rest of the job")
    per_item: list[float] = []
    for n in args.sizes:
        r = run(n, seed=args.seed, workers=args.workers, free_tagging=args.free_tagging)
        per_item.append(r["total"] / n)
        print(
            f"{n:>7} items: {n / r['total']:>7,.0f} items/s in all ({r['total']:.2f} s): tagging and storing "
            f"{r['tag_store']:.2f} s, grouping and storing groups {r['group']:.2f} s; "
            f"{int(r['several'])} stories told by several items; CPU {r['cpu_main']:.1f} s here and "
            f"{r['cpu_children']:.1f} s in the workers"
        )
    if len(per_item) > 1:
        growth = per_item[-1] / per_item[0]
        size_ratio = args.sizes[-1] / args.sizes[0]
        print(
            f"time grew {growth * size_ratio:.2f}x for {size_ratio:.1f}x the items "
            f"(time per item x{growth:.2f}; 1.00 is linear)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
