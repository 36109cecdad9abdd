"""Curation throughput: tagging (+ noise, members, trial links) and grouping of generated items.

    python bench/curate_bench.py [--sizes 10000 50000] [--seed 7]

Items are generated from member names, trial codes, template sentences of each theme and the sentences
of the labelled evaluation set (figures and organisations replaced), in English and Norwegian, about
1,900 characters each (a long feed summary). One in twenty is a re-publication of an earlier item by
another source (reworded title, same lede). They are spread over time at about 1,000 items a week (90
members publishing a few items a week each, plus partners and media). Prints items per second per
phase and overall, and how the time per item grows from the smallest to the largest size.

Storing: by default the curations are written to the real store on a SQLite file (tags with evidence,
group keys), as `run.py curate` does; `--no-store` leaves that out.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.curate.groups import GroupInput  # noqa: E402
from pipeline.curate.members import MemberMatcher  # noqa: E402
from pipeline.curate.noise import NoiseMatcher  # noqa: E402
from pipeline.curate.themes import ThemeMatcher, noise_rules_from_mapping, themes_from_mapping  # noqa: E402
from pipeline.jobs.curate import CurationContext, curate_batch, gc_paused, group_window  # noqa: E402
from pipeline.types import Curation, DigestSettings, Source, StoredItem  # noqa: E402

Store = Callable[[Sequence[tuple[StoredItem, Curation]]], Any]

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


def _config() -> dict[str, Any]:
    from pipeline.config import read_yaml

    return read_yaml((ROOT / "sources.yaml").read_text(encoding="utf-8"))


def run(n: int, *, seed: int = 7, store: Store | None = None, workers: int | None = None) -> dict[str, float]:
    """Curate and group `n` generated items as `run.py curate` does (a process pool for a large batch,
    one per core unless `workers` says otherwise); returns seconds per phase (and for storing when given)."""
    config = _config()
    ctx = CurationContext(
        themes=ThemeMatcher(themes_from_mapping(config["themes"])),
        noise=NoiseMatcher(noise_rules_from_mapping(config.get("noise") or {})),
        members=MemberMatcher(MEMBERS),
        sources={
            mid: Source(id=mid, name=names[0], kind="feed", url=f"https://example.org/{mid}", member=True)
            for mid, names in MEMBERS
        },
    )
    items = generate_items(n, seed)

    t0 = time.perf_counter()
    # now=None: each item scored as of its own date (the bench measures work, not recency decay)
    curations = curate_batch(ctx, items, {}, DigestSettings(), None, workers=workers)
    t1 = time.perf_counter()
    groups = group_window(
        [
            GroupInput(
                item_id=it.id,
                title=it.title,
                summary=it.summary_text,
                published=it.published,
                language=c.language,
                source_id=it.source_id,
                source_member_id=it.source_id,
                members=c.members,
            )
            for it, c in zip(items, curations, strict=True)
        ]
    )
    t2 = time.perf_counter()
    out = {"tagging": t1 - t0, "grouping": t2 - t1, "groups": float(len(set(groups.values())))}
    if store is not None:
        pairs = [(it, replace(c, group_key=groups[it.id])) for it, c in zip(items, curations, strict=True)]
        timed = store(pairs)
        # a store that sets up untimed work first reports its own timed part
        out["storing"] = float(timed) if isinstance(timed, float) else time.perf_counter() - t2
    return out


def sql_store() -> Store:
    """Storing into the real store on a SQLite file: the items are written first (not timed), then the
    timed part writes the curations, their tags with evidence and the group keys, as `curate` does."""
    import tempfile

    from pipeline.store import Store as PipelineStore
    from pipeline.types import ParsedItem

    def write(pairs: Sequence[tuple[StoredItem, Curation]]) -> float:
        folder = tempfile.mkdtemp(prefix="curate-bench-")
        db = PipelineStore.open(f"sqlite:///{folder}/bench.db", require_schema=False)
        db.upgrade()
        now = datetime.now(UTC)
        with db.transaction() as conn:
            db.items.ingest(
                conn,
                "bench",
                [
                    ParsedItem(
                        guid=str(it.id),
                        url=f"https://example.org/i/{it.id}",
                        canonical_url=f"https://example.org/i/{it.id}",
                        title=it.title,
                        summary_html="",
                        summary_text=it.summary_text,
                        published=it.published,
                    )
                    for it, _ in pairs
                ],
                now,
            )
        ids = {int(i.guid): (i.id, i.content_hash) for i in db.items.list()}
        t0 = time.perf_counter()
        with gc_paused():  # as curate_new saves
            db.curations.save([(replace(c, item_id=ids[it.id][0]), ids[it.id][1]) for it, c in pairs], now)
        elapsed = time.perf_counter() - t0
        db.close()
        return elapsed

    return write


def main(argv: Sequence[str] | None = None, *, store: Store | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-store", action="store_true", help="leave out storing into SQLite")
    parser.add_argument("--workers", type=int, default=None, help="tagging processes (default: one per core)")
    args = parser.parse_args(argv)
    if store is None and not args.no_store:
        store = sql_store()
    per_item: list[float] = []
    for n in args.sizes:
        r = run(n, seed=args.seed, store=store, workers=args.workers)
        total = r["tagging"] + r["grouping"] + r.get("storing", 0.0)
        per_item.append(total / n)
        line = (
            f"{n:>7} items: tagging {n / r['tagging']:>9,.0f} items/s, grouping {n / r['grouping']:>9,.0f} "
            f"items/s"
        )
        if "storing" in r:
            line += f", storing {n / r['storing']:>9,.0f} items/s"
        line += f", total {n / total:>9,.0f} items/s ({total:.2f} s, {int(r['groups'])} groups)"
        print(line)
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
