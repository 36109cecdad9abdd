"""Curation commands through the real CLI (items, decide), on a recorded feed served on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipeline.store import Store
from tests.support.loopback import LoopbackServer

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def curated(cli, project) -> dict[str, dict[str, Any]]:
    """Nykode's recorded feed (three items) collected and curated; the items by the start of their title."""
    with LoopbackServer() as server:
        project.serve_feed(server, "/feed.xml", (FIXTURES / "feeds" / "rss2.xml").read_bytes())
        assert cli("init").code == 0
        assert cli("collect").code == 0
    assert cli("curate").code == 0
    return _items(cli)


def _items(cli) -> dict[str, dict[str, Any]]:
    listed = cli("items", "--since", "2000-01-01", "--json").json()["items"]  # type: ignore[index]
    return {item["title"].split()[0] + " " + item["title"].split()[1]: item for item in listed}


def test_decisions_show_at_once_and_survive_recuration(cli, curated) -> None:
    results = curated["Nykode Therapeutics"]
    assert results["themes"] == ["immuno-oncology"] and results["noise"] is None
    item = str(results["id"])
    added = cli("decide", item, "add-theme", "precision-medicine", "--editor", "anna@example.org", "--json")
    assert added.code == 0
    shown = added.json()
    assert shown["themes"][0] == "precision-medicine"  # an editor's theme comes first
    editor = {"term": "anna@example.org", "where": "editor"}
    assert shown["evidence"]["precision-medicine"]["matched"] == [editor]
    assert cli("decide", item, "remove-theme", "immuno-oncology").code == 0
    assert cli("decide", item, "noise", "covered last week").code == 0
    pinned = cli("decide", item, "pin")
    assert pinned.code == 0 and "noise (covered last week)" in pinned.out and "pinned" in pinned.out

    assert cli("curate", "--all").code == 0
    after = _items(cli)["Nykode Therapeutics"]
    assert after["themes"][0] == "precision-medicine" and "immuno-oncology" not in after["themes"]
    assert after["noise"] == "covered last week" and after["pinned"] is True
    unmarked = cli("decide", item, "not-noise", "--json").json()
    assert unmarked["noise"] is None  # type: ignore[index]


def test_merge_joins_the_other_items_story_and_split_leaves_it(cli, curated) -> None:
    results, invitation = curated["Nykode Therapeutics"], curated["Invitation to"]
    assert results["group"] != invitation["group"]
    merged = cli("decide", str(invitation["id"]), "merge", str(results["id"]), "--json").json()
    assert merged["group"] == results["group"]  # type: ignore[index]
    assert cli("curate", "--all").code == 0
    assert _items(cli)["Invitation to"]["group"] == results["group"]
    split = cli("decide", str(invitation["id"]), "split", "--json").json()
    assert split["group"] != results["group"]  # type: ignore[index]
    assert _items(cli)["Nykode Therapeutics"]["group"] == results["group"]


@pytest.mark.parametrize(
    ("words", "message"),
    [
        (("add-theme", "oncology-ish"), "unknown theme 'oncology-ish'; the themes are immuno-oncology, "),
        (("add-theme",), "add-theme needs the theme"),
        (("merge",), "merge needs the id of the item whose story to join"),
        (("merge", "first"), "merge takes the id of another item, not 'first'"),
        (("merge", "999"), "no item with id 999"),
        (("pin", "please"), "'pin' takes no value (given 'please')"),
        (("noise", "x" * 201), "the reason is 201 characters long; at most 200 are kept"),
        (("pin", "--editor", "e" * 321), "the editor's name is longer than 320 characters"),
    ],
)
def test_a_decision_that_cannot_apply_is_refused_and_nothing_is_stored(
    cli, project, curated, words: tuple[str, ...], message: str
) -> None:
    item = curated["Nykode Therapeutics"]
    result = cli("decide", str(item["id"]), *words)
    assert result.code == 1 and message in result.err and "Traceback" not in result.err
    assert Store.open(project.db).curations.decisions() == {}


def test_an_unknown_item_is_named(cli, curated) -> None:
    result = cli("decide", "999", "pin")
    assert result.code == 1 and result.err.strip() == "error: no item with id 999"


def test_items_names_an_unknown_source_instead_of_listing_nothing(cli, curated) -> None:
    result = cli("items", "--source", "alpah")
    assert result.code == 1 and result.err.strip() == "error: unknown source 'alpah'; sources: alpha"
    assert cli("items", "--source", "alpha", "--since", "2000-01-01", "--json").json()["count"] == 3
