"""The demo's sources.yaml: the project's own settings, themes, noise rules and members, with sources that
point at the loopback `DemoServer` instead of the members' real sites.

Source ids, names and member flags are taken from the project's sources.yaml where it has the source, so
the demo digest looks like the real one; the table below only says where each sample lives and how to
read it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from pipeline.config import plain_data, read_yaml
from pipeline.errors import ConfigError
from pipeline.types import Language, SourceKind


@dataclass(frozen=True)
class DemoSource:
    """Where one bundled sample source lives on the demo server, and how the collector reads it."""

    id: str
    kind: SourceKind
    path: str  # URL path on the demo server
    name: str  # used when the project's sources.yaml has no source with this id
    member: bool
    language: Language | None = None  # None: the sample mixes English and Norwegian
    selectors: Mapping[str, str] | None = None
    themes: tuple[str, ...] = ()


_WORDPRESS_CATEGORY = {"item": "article", "title": "h2.entry-title, h2", "link": "h2 a", "date": "time",
                       "summary": ".entry-summary p", "image": "img"}
_OUS_LISTING = {"item": "article.nyhet", "title": "h2", "link": "h2 a", "date": ".dato",
                "summary": "p.ingress", "image": "img"}
_PROJECT_CARDS = {"item": "article.news-card", "title": "h2", "link": "h2 a", "date": "time",
                  "summary": "p", "image": "img"}

DEMO_SOURCES: tuple[DemoSource, ...] = (
    DemoSource("occ", "page", "/occ/category/news/", "Oslo Cancer Cluster", True, "en", _WORDPRESS_CATEGORY),
    DemoSource("occ-incubator", "feed", "/occ-incubator/feed/", "Oslo Cancer Cluster Incubator", True, "en"),
    DemoSource("cancer-crosslinks", "feed", "/cancer-crosslinks/rss.xml", "Cancer Crosslinks", True, "en",
               themes=("events",)),
    DemoSource("ous", "page", "/ous/nyheter/", "Oslo University Hospital", True, "no", _OUS_LISTING),
    DemoSource("kreftregisteret", "feed", "/kreftregisteret/atom.xml", "Cancer Registry of Norway", False,
               "no"),
    DemoSource("kreftforeningen", "feed", "/kreftforeningen/rss.xml", "Kreftforeningen", True, "no"),
    DemoSource("radforsk", "feed", "/radforsk/rss.xml", "Radforsk", False),
    DemoSource("nykode", "home", "/nykode/", "Nykode Therapeutics", True, "en"),
    DemoSource("ultimovacs", "feed", "/ultimovacs/rss.xml", "Ultimovacs", False, "en"),
    DemoSource("zelluna", "feed", "/zelluna/atom.xml", "Zelluna", True, "en"),
    DemoSource("lytix", "feed", "/lytix/feed/", "Lytix Biopharma", True),
    DemoSource("oncoinvent", "feed", "/oncoinvent/feed/", "Oncoinvent", True, "en"),
    DemoSource("domore-diagnostics", "feed", "/domore-diagnostics/atom.xml", "DoMore Diagnostics", True,
               "en"),
    DemoSource("eu-echos", "page", "/eu-echos/news/", "ECHoS \u2013 Establishing Cancer Mission Hubs", False,
               "en", _PROJECT_CARDS, themes=("eu-projects",)),
    DemoSource("forskningsradet", "feed", "/forskningsradet/rss/utlysninger.xml",
               "Research Council of Norway (Forskningsrådet)", False, "no", themes=("funding-investment",)),
)

# What a real source may lend its demo twin: who it is, not where or how it is read.
_IDENTITY_KEYS = ("name", "member", "member_id", "aliases", "weight")


def demo_config(base_url: str, host_port: str, *, base_config: Mapping[str, Any],
                outbox_dir: str | None = None) -> dict[str, Any]:
    """The demo configuration as plain data: the base config's settings, themes, noise and members, with
    loopback access allowed for `host_port`, delivery through the outbox, and the demo sources."""
    base = plain_data(base_config)
    settings = copy.deepcopy(base.get("settings") or {})
    http = settings.setdefault("http", {})
    http["allow_private"] = [host_port]
    delivery = settings.setdefault("delivery", {})
    delivery["provider"] = "outbox"
    if outbox_dir is not None:
        delivery["outbox_dir"] = outbox_dir
    themes = base.get("themes") or {}
    real = {str(s.get("id")): s for s in base.get("sources") or [] if isinstance(s, Mapping)}
    out: dict[str, Any] = {"settings": settings, "sources": demo_sources(base_url, real, set(themes))}
    for key in ("themes", "noise", "members"):
        if base.get(key) is not None:
            out[key] = base[key]
    return out


def demo_sources(base_url: str, real: Mapping[str, Mapping[str, Any]],
                 theme_ids: set[str]) -> list[dict[str, Any]]:
    """One source entry per bundled sample, named like its real twin in `real` (by id) where there is one."""
    root = base_url.rstrip("/")
    out = []
    for demo in DEMO_SOURCES:
        twin = real.get(demo.id, {})
        entry: dict[str, Any] = {"id": demo.id, "name": demo.name, "member": demo.member}
        entry.update({k: twin[k] for k in _IDENTITY_KEYS if k in twin})
        entry.update({"kind": demo.kind, "url": root + demo.path})
        if demo.language is not None:
            entry["language"] = demo.language
        if demo.selectors is not None:
            entry["selectors"] = dict(demo.selectors)
        # Only themes the base config defines: an unknown theme id would fail validation.
        themes = [t for t in dict.fromkeys([*(twin.get("themes") or []), *demo.themes]) if t in theme_ids]
        if themes:
            entry["themes"] = themes
        out.append(entry)
    return out


def demo_sources_yaml(base_url: str, host_port: str, *, base_config: Mapping[str, Any],
                      outbox_dir: str | None = None) -> str:
    """`demo_config` as the text of a sources.yaml that `pipeline.config.parse_config` reads."""
    data = demo_config(base_url, host_port, base_config=base_config, outbox_dir=outbox_dir)
    header = "# Generated for `run.py demo`: sources point at the bundled samples on a loopback server.\n"
    # safe_dump quotes 'no', so the file reads the same under YAML 1.1 and the project's own loader.
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110)


def read_base_config(text: str) -> dict[str, Any]:
    """The project's sources.yaml as plain data, for `base_config` (its `no:` keys stay the string "no")."""
    data = read_yaml(text)
    if not data:
        raise ConfigError("the base config is empty", fix="run the demo with the project's sources.yaml")
    return data
