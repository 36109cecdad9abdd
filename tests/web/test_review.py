"""The editors' review page: login required, themes with evidence, stories, decisions by CSRF-protected
POSTs that redirect back. A real SQLite store with curated items; Flask's test client, CSRF on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline import jobs
from pipeline.types import ParsedItem
from tests.web.conftest import EDITOR, PASSWORD, Reviewed, Web, login, parsed_item


def test_the_review_needs_a_logged_in_editor(web: Web) -> None:
    response = web.client.get("/review/items?theme=funding")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login?next=/review/items?theme%3Dfunding")


def test_login_leads_to_the_review_or_back_where_the_editor_was_going(web: Web) -> None:
    web.svc.store.users.add(EDITOR, "editor", PASSWORD, datetime.now(UTC))
    assert login(web) == "/review/items"
    assert login(web, "/review/items?theme=funding") == "/review/items?theme=funding"
    assert login(web, "https://phish.example.com/") == "/review/items"


def test_the_page_shows_themes_with_their_evidence_and_the_stories(reviewed: Reviewed) -> None:
    html = reviewed.page()
    assert "Nykode starts immunotherapy trial in melanoma" in html
    assert "4 items of the last two weeks" in html
    trial = html[html.index(f'id="item-{reviewed.ids["trial"]}"') :]
    assert "<strong>Immuno-oncology</strong> (3.0):" in trial
    assert "immunotherapy <small>in title</small>, immunotherapy <small>in summary</small>" in trial
    again = reviewed.ids["again"]
    assert f'told by 2 items in this list: <a href="#item-{again}">#{again}</a>' in trial
    assert f'aria-label="Remove Immuno-oncology from item {reviewed.ids["trial"]}"' in trial
    party = html[html.index(f'id="item-{reviewed.ids["party"]}"') :]
    assert "No theme." in party[: party.index("</article>")]


def test_a_decision_is_saved_shown_and_returns_to_the_list_as_it_was(reviewed: Reviewed) -> None:
    back = "/review/items?theme=immuno-oncology"
    location = reviewed.decide("party", "pin", back=back)
    assert location == f"{back}#item-{reviewed.ids['party']}"
    assert reviewed.item("party")["pinned"] is True
    [decision] = reviewed.web.svc.store.curations.decisions([reviewed.ids["party"]])[reviewed.ids["party"]]
    assert (decision.action, decision.editor) == ("pin", EDITOR)
    html = reviewed.page()
    assert f"Item {reviewed.ids['party']}: pin saved." in html
    party = html[html.index(f'id="item-{reviewed.ids["party"]}"') :]
    assert '<span class="badge">pinned</span>' in party[: party.index("</article>")]


def test_noise_include_and_themes_from_the_page(reviewed: Reviewed) -> None:
    reviewed.decide("party", "noise", "Internal event")
    assert reviewed.item("party")["noise"] == "Internal event"
    reviewed.decide("party", "include")
    assert reviewed.item("party")["included"] is True
    reviewed.decide("grant", "add-theme", "immuno-oncology")
    reviewed.decide("grant", "remove-theme", "precision-medicine")
    grant = reviewed.item("grant")
    assert grant["themes"][0] == "immuno-oncology" and "precision-medicine" not in grant["themes"]  # type: ignore[index]
    jobs.curate_new(reviewed.web.svc, everything=True)
    assert reviewed.item("party")["noise"] == "Internal event"  # kept through re-curation


def test_merge_and_split_from_the_page(reviewed: Reviewed) -> None:
    story = reviewed.item("trial")["group"]
    assert reviewed.item("again")["group"] == story
    reviewed.decide("grant", "merge", f"#{reviewed.ids['trial']}")  # as the page shows ids
    assert reviewed.item("grant")["group"] == story
    reviewed.decide("again", "split")
    assert reviewed.item("again")["group"] != story and reviewed.item("trial")["group"] == story


@pytest.mark.parametrize(
    ("action", "value", "message"),
    [
        ("add-theme", "oncology-ish", "unknown theme &#39;oncology-ish&#39;"),
        ("merge", "first", "merge takes the id of another item, not &#39;first&#39;"),
        ("merge", "999999", "no item with id 999999"),
        ("launch", None, "unknown decision &#39;launch&#39;"),
    ],
)
def test_a_decision_that_cannot_apply_is_explained_and_nothing_is_stored(
    reviewed: Reviewed, action: str, value: str | None, message: str
) -> None:
    reviewed.decide("party", action, value)
    assert f"Item {reviewed.ids['party']}: {message}" in reviewed.page()
    assert reviewed.web.svc.store.curations.decisions() == {}


def test_a_post_without_the_csrf_token_is_refused(reviewed: Reviewed) -> None:
    response = reviewed.web.client.post(f"/review/items/{reviewed.ids['party']}", data={"action": "pin"})
    assert response.status_code == 400
    assert reviewed.web.svc.store.curations.decisions() == {}


def test_a_decision_never_redirects_to_another_site(reviewed: Reviewed) -> None:
    location = reviewed.decide("party", "pin", back="https://phish.example.com/review/items")
    assert location == f"/review/items#item-{reviewed.ids['party']}"


def test_filters_by_theme_source_and_date(reviewed: Reviewed) -> None:
    genomics = reviewed.page("/review/items?theme=precision-medicine")
    assert "Genomics funding" in genomics and "Summer party" not in genomics and "1 item of" in genomics
    since = (datetime.now(UTC) - timedelta(days=1, hours=12)).date().isoformat()
    recent = reviewed.page(f"/review/items?since={since}")
    assert "Nykode starts" in recent and "Summer party" not in recent
    assert "No items match." in reviewed.page("/review/items?source=elsewhere")
    # Filtered by one source, the list still offers the others: the configured ones and the items'.
    alpha = reviewed.page("/review/items?source=alpha")
    assert '<option value="beta">Beta News</option>' in alpha
    assert '<option value="alpha" selected>alpha</option>' in alpha


def test_a_title_from_a_feed_is_escaped_and_a_non_web_link_is_not_a_link(web: Web) -> None:
    svc = web.svc
    hostile = parsed_item("x", "<script>alert(1)</script> news", "Nothing to see.", 1)
    hostile = ParsedItem(**{**hostile.__dict__, "url": "javascript:alert(1)"})
    with svc.store.transaction() as conn:
        svc.store.items.ingest(conn, "alpha", [hostile], datetime.now(UTC))
    svc.store.users.add(EDITOR, "editor", PASSWORD, datetime.now(UTC))
    login(web)
    html = web.client.get("/review/items").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; news" in html and "<script>alert" not in html
    assert 'href="javascript:' not in html and "not curated yet" in html


def test_a_long_list_comes_in_pages_that_keep_the_filters(reviewed: Reviewed, monkeypatch) -> None:
    from pipeline.web import review

    monkeypatch.setattr(review, "PAGE_SIZE", 3)
    first = reviewed.page("/review/items?theme=&source=alpha")
    assert "4 items of the last two weeks, page 1 of 2" in first and first.count('<article class="item') == 3
    assert 'href="/review/items?source=alpha&amp;page=2">Next</a>' in first and "Previous" not in first
    second = reviewed.page("/review/items?source=alpha&page=2")
    assert second.count('<article class="item') == 1 and "Summer party" in second  # the oldest comes last
    assert 'href="/review/items?source=alpha&amp;page=1">Previous</a>' in second
    assert reviewed.page("/review/items?page=99").count('<article class="item') == 1  # the last page
