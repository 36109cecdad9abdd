from __future__ import annotations

import re
from datetime import datetime, timedelta
from types import SimpleNamespace

from pytest import MonkeyPatch

from pipeline.deliver import tokens
from pipeline.deliver.tokens import make_token
from pipeline.jobs import utc_now
from tests.web.conftest import SECRET, THEMES, Web, link_path

ADDRESS = "Kari.Nordmann@Example.no"


def status_of(web: Web, address: str = ADDRESS) -> str | None:
    sub = web.svc.store.subscribers.find(address)
    return sub.status if sub else None


def token_for(
    web: Web,
    purpose: str,
    address: str = ADDRESS,
    *,
    signed: datetime | None = None,
    monkeypatch: MonkeyPatch | None = None,
) -> str:
    """A token for a stored subscriber, signed now or (with monkeypatch) at the time `signed`."""
    sub = web.svc.store.subscribers.find(address)
    assert sub is not None
    if signed is None:
        return make_token(SECRET, purpose, sub.id, sub.email)  # type: ignore[arg-type]
    assert monkeypatch is not None
    with monkeypatch.context() as m:
        m.setattr(tokens, "time", SimpleNamespace(time=signed.timestamp))
        return make_token(SECRET, purpose, sub.id, sub.email)  # type: ignore[arg-type]


def add_active(web: Web, address: str = ADDRESS) -> None:
    web.svc.store.subscribers.add(address, status="active", source="cli", now=web.svc.clock())


# --- subscribe and confirm -------------------------------------------------------------------------


def test_subscribe_confirm_by_the_mailed_link_activates(web: Web) -> None:
    page = web.client.get("/subscribe")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert all(f'value="{t}" checked' in html for t in THEMES)  # every theme by default

    assert web.subscribe(ADDRESS, name="Kari", language="no", themes=["funding"]) == 200
    sub = web.svc.store.subscribers.find(ADDRESS)
    assert sub is not None and sub.status == "pending"
    assert (sub.email, sub.name, sub.language, sub.themes) == (
        "kari.nordmann@example.no",
        "Kari",
        "no",
        frozenset({"funding"}),
    )

    [mail] = web.mails()
    assert mail["To"] == "kari.nordmann@example.no"
    assert "Bekreft" in mail["Subject"]  # the mail speaks the language chosen in the form
    assert mail.get_body(("html",)) is not None
    confirm = web.client.get(link_path(mail, "confirm"))
    assert confirm.status_code == 200
    assert status_of(web) == "active"
    record = web.svc.store.subscribers.record(ADDRESS)
    assert record is not None and record.consent_source == "web" and record.consent_at is not None

    again = web.client.get(link_path(mail, "confirm"))  # a second click changes nothing, says so
    assert again.status_code == 200 and status_of(web) == "active"


def test_the_answer_is_the_same_for_new_active_and_suppressed_addresses(web: Web) -> None:
    add_active(web, "active@example.no")
    web.svc.store.subscribers.add("bounced@example.no", status="active", now=web.svc.clock())
    bounced = web.svc.store.subscribers.find("bounced@example.no")
    assert bounced is not None
    web.svc.store.subscribers.set_status(bounced.id, "bounced", web.svc.clock())
    web.svc.store.subscribers.erase("erased@example.no", web.svc.clock())

    pages = []
    for address in ("new@example.no", "active@example.no", "bounced@example.no", "erased@example.no"):
        form = {
            "email": address,
            "language": "en",
            "themes": THEMES,
            "csrf_token": web.csrf_token("/subscribe"),
        }
        response = web.client.post("/subscribe", data=form)
        assert response.status_code == 200
        pages.append(response.get_data(as_text=True).replace(address, "ADDRESS"))
    assert len(set(pages)) == 1  # nothing tells a visitor whether an address is on the list
    assert [m["To"] for m in web.mails()] == ["new@example.no"]  # mail only for the new address
    assert status_of(web, "active@example.no") == "active"
    assert status_of(web, "bounced@example.no") == "bounced"
    assert web.svc.store.subscribers.find("erased@example.no") is None


def test_per_field_errors_re_render_the_form(web: Web) -> None:
    form = {
        "email": "not-an-address",
        "name": "x" * 300,
        "language": "en",
        "themes": [],
        "csrf_token": web.csrf_token("/subscribe"),
    }
    response = web.client.post("/subscribe", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This does not look like an email address." in html
    assert "At most 200 characters" in html
    assert "Choose at least one theme." in html
    assert 'value="not-an-address"' in html  # what was typed is kept
    assert web.svc.store.subscribers.find("not-an-address") is None and not web.mails()


def test_a_post_without_csrf_token_is_rejected(web: Web) -> None:
    response = web.client.post("/subscribe", data={"email": ADDRESS, "language": "en", "themes": THEMES})
    assert response.status_code == 400
    assert status_of(web) is None and not web.mails()


def test_form_input_is_escaped(web: Web) -> None:
    form = {
        "email": "<script>@x",
        "language": "en",
        "themes": THEMES,
        "csrf_token": web.csrf_token("/subscribe"),
    }
    html = web.client.post("/subscribe", data=form).get_data(as_text=True)
    assert "<script>@x" not in html and "&lt;script&gt;@x" in html


def test_expired_or_tampered_confirm_links_get_a_friendly_400(web: Web, monkeypatch: MonkeyPatch) -> None:
    web.subscribe(ADDRESS)
    path = link_path(web.mails()[0], "confirm")
    tampered = web.client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB"))
    assert tampered.status_code == 400
    assert 'href="/subscribe' in tampered.get_data(as_text=True)  # a way to start again
    assert status_of(web) == "pending"

    wrong_purpose = web.client.get(f"/confirm/{token_for(web, 'preferences')}")
    assert wrong_purpose.status_code == 400 and status_of(web) == "pending"

    eight_days_old = token_for(web, "confirm", signed=utc_now() - timedelta(days=8), monkeypatch=monkeypatch)
    expired = web.client.get(f"/confirm/{eight_days_old}")
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)
    assert status_of(web) == "pending"
    six_days_old = token_for(web, "confirm", signed=utc_now() - timedelta(days=6), monkeypatch=monkeypatch)
    assert web.client.get(f"/confirm/{six_days_old}").status_code == 200
    assert status_of(web) == "active"


def test_an_unsubscribed_person_may_come_back_by_confirming(web: Web, monkeypatch: MonkeyPatch) -> None:
    add_active(web)
    old_confirm = token_for(web, "confirm", signed=utc_now() - timedelta(hours=2), monkeypatch=monkeypatch)
    web.svc.clock = lambda: utc_now() - timedelta(hours=1)  # they unsubscribed an hour ago
    assert web.client.post(f"/unsubscribe/{token_for(web, 'unsubscribe')}").status_code == 200
    web.svc.clock = utc_now
    assert status_of(web) == "unsubscribed"

    # A confirm link signed before the unsubscription (a scanner revisiting an old mail) does nothing.
    assert web.client.get(f"/confirm/{old_confirm}").status_code == 400
    assert status_of(web) == "unsubscribed"

    assert web.subscribe(ADDRESS, language="no") == 200
    assert status_of(web) == "unsubscribed"  # asking alone changes nothing
    [mail] = web.mails()
    assert web.client.get(link_path(mail, "confirm")).status_code == 200
    sub = web.svc.store.subscribers.find(ADDRESS)
    assert sub is not None and sub.status == "active" and sub.language == "no"


def test_bounced_and_complained_are_never_reactivated_by_a_confirm_link(web: Web) -> None:
    web.subscribe(ADDRESS)
    [mail] = web.mails()
    sub = web.svc.store.subscribers.find(ADDRESS)
    assert sub is not None
    web.svc.store.subscribers.set_status(sub.id, "complained", web.svc.clock())
    response = web.client.get(link_path(mail, "confirm"))
    assert response.status_code == 200 and "contact us" in response.get_data(as_text=True)
    assert status_of(web) == "complained"


def test_a_pending_address_is_not_mailed_again_within_the_resend_interval(web: Web) -> None:
    assert web.subscribe(ADDRESS) == 200
    assert web.subscribe(ADDRESS) == 200
    assert len(web.mails()) == 1


# --- unsubscribe ---------------------------------------------------------------------------------


def test_unsubscribe_get_only_asks_and_post_one_click_unsubscribes_idempotently(web: Web) -> None:
    add_active(web)
    path = f"/unsubscribe/{token_for(web, 'unsubscribe')}"

    page = web.client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'method="post"' in html
    assert status_of(web) == "active"  # a link scanner following the URL unsubscribes nobody

    # RFC 8058: the mail client posts this body, with no CSRF token and no session.
    one_click = {"List-Unsubscribe": "One-Click"}
    first = web.client.post(path, data=one_click)
    assert first.status_code == 200 and status_of(web) == "unsubscribed"
    second = web.client.post(path, data=one_click)
    assert second.status_code == 200 and status_of(web) == "unsubscribed"


def test_unsubscribe_with_a_tampered_token_is_400_and_changes_nothing(web: Web) -> None:
    add_active(web)
    token = token_for(web, "unsubscribe")
    bad = token[:-3] + ("xyz" if not token.endswith("xyz") else "abc")
    assert web.client.get(f"/unsubscribe/{bad}").status_code == 400
    assert web.client.post(f"/unsubscribe/{bad}").status_code == 400
    assert web.client.post(f"/unsubscribe/{token_for(web, 'preferences')}").status_code == 400
    assert status_of(web) == "active"


def test_unsubscribe_of_an_erased_address_succeeds_without_touching_anyone(web: Web) -> None:
    add_active(web)
    token = token_for(web, "unsubscribe")
    web.svc.store.subscribers.erase(ADDRESS, web.svc.clock())
    add_active(web, "someone.else@example.no")  # may get the erased row's id
    assert web.client.post(f"/unsubscribe/{token}").status_code == 200
    assert status_of(web, "someone.else@example.no") == "active"


# --- preferences ---------------------------------------------------------------------------------


def test_preferences_change_themes_and_language(web: Web) -> None:
    add_active(web)
    path = f"/preferences/{token_for(web, 'preferences')}"
    html = web.client.get(path).get_data(as_text=True)
    assert all(f'value="{t}" checked' in html for t in THEMES)

    csrf = web.csrf_token(path)
    saved = web.client.post(
        path, data={"language": "no", "themes": ["precision-medicine"], "csrf_token": csrf}
    )
    assert saved.status_code == 200
    assert "Innstillingene dine er lagret" in saved.get_data(as_text=True)  # answered in the new language
    sub = web.svc.store.subscribers.find(ADDRESS)
    assert sub is not None and sub.language == "no" and sub.themes == frozenset({"precision-medicine"})
    assert sub.status == "active"

    html = web.client.get(path).get_data(as_text=True)
    assert 'value="precision-medicine" checked' in html and 'value="funding" checked' not in html

    everything = web.client.post(path, data={"language": "en", "themes": THEMES, "csrf_token": csrf})
    assert everything.status_code == 200
    sub = web.svc.store.subscribers.find(ADDRESS)
    assert sub is not None and sub.themes is None  # all chosen: themes added later reach them too


def test_preferences_post_needs_csrf_and_valid_values(web: Web) -> None:
    add_active(web)
    path = f"/preferences/{token_for(web, 'preferences')}"
    no_csrf = web.client.post(path, data={"language": "no", "themes": ["funding"]})
    assert no_csrf.status_code == 400
    bad = web.client.post(
        path, data={"language": "de", "themes": ["astrology"], "csrf_token": web.csrf_token(path)}
    )
    assert bad.status_code == 400
    assert "Unknown theme: astrology" in bad.get_data(as_text=True)
    sub = web.svc.store.subscribers.find(ADDRESS)
    assert sub is not None and sub.language == "en" and sub.themes is None
    assert web.client.get("/preferences/garbage").status_code == 400


def test_pages_carry_security_headers(web: Web) -> None:
    add_active(web)
    for response in (
        web.client.get("/"),  # the index links to the subscribe page
        web.client.get("/subscribe"),
        web.client.get(f"/unsubscribe/{token_for(web, 'unsubscribe')}"),
        web.client.get("/confirm/garbage"),
    ):
        assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_the_subscribe_page_speaks_norwegian_when_asked(web: Web) -> None:
    html = web.client.get("/subscribe", headers={"Accept-Language": "nb-NO,nb;q=0.9"}).get_data(as_text=True)
    assert "Abonner på nyhetsbrevet" in html and "Immunonkologi" in html
    assert re.search(r'value="no"\s+checked', html)


def test_an_imported_pending_subscriber_who_confirms_on_the_web_gave_consent_there(web: Web) -> None:
    web.svc.store.subscribers.add(ADDRESS, status="pending", source="import", now=web.svc.clock())
    confirm = web.client.get(f"/confirm/{token_for(web, 'confirm')}")
    assert confirm.status_code == 200 and status_of(web) == "active"
    record = web.svc.store.subscribers.record(ADDRESS)
    assert record is not None and record.consent_source == "web" and record.consent_at is not None
