"""Public subscription pages: subscribe (double opt-in), confirm, preferences and unsubscribe.

No login: the signed link in the URL is the credential. Every form carries a CSRF token except the
RFC 8058 one-click unsubscribe POST, which mail clients send without one. Answers never reveal whether an
address is subscribed.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, render_template, request

from pipeline.errors import SubscriberError, TokenError
from pipeline.jobs import subscribe as subscribe_jobs
from pipeline.types import Config, Language, Subscriber
from pipeline.web import csrf, services

log = logging.getLogger(__name__)

bp = Blueprint("subscribe", __name__)

#: Page texts by language. English is the fallback for anything missing.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "subscribe_title": "Subscribe to the news digest",
        "subscribe_intro": "The members' news, curated by theme, in your inbox. We send you a mail to "
        "confirm your address first.",
        "email": "Email",
        "name": "Name (optional)",
        "language": "Language",
        "themes": "Themes",
        "themes_help": "You get the sections of the themes you choose.",
        "subscribe_button": "Subscribe",
        "fix_errors": "Please correct the fields marked below.",
        "inbox_title": "Check your inbox",
        "inbox_body": "If this address can receive the digest, a mail with a confirmation link is on its way "
        "to {email}. The link is valid for 7 days.",
        "confirmed_title": "You are subscribed",
        "confirmed_body": "Thank you: your subscription is confirmed.",
        "already_title": "You are subscribed",
        "already_body": "This address was confirmed already. Nothing more to do.",
        "refused_title": "We cannot subscribe this address",
        "refused_body": "Mail to this address could not be delivered earlier, or was reported as unwanted, "
        "so we do not re-activate it automatically. Please contact us if you want the digest again.",
        "invalid_title": "This link does not work",
        "invalid_body": "The link is invalid or has expired.",
        "stale_body": "This confirmation link is older than your unsubscription.",
        "subscribe_again": "Subscribe again",
        "preferences_title": "Your preferences",
        "preferences_intro": "Choose the themes you want to read about and the language of the digest.",
        "save": "Save",
        "saved": "Your preferences are saved.",
        "unsubscribe_link": "Unsubscribe",
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_question": "Stop sending the news digest to {email}?",
        "unsubscribe_button": "Unsubscribe",
        "not_subscribed": "{email} does not receive the digest.",
        "gone": "This address is not on our list any more.",
        "unsubscribed_title": "You are unsubscribed",
        "unsubscribed_body": "You will not receive the news digest any more.",
        "en": "English",
        "no": "Norwegian",
    },
    "no": {
        "subscribe_title": "Abonner på nyhetsbrevet",
        "subscribe_intro": "Nyheter fra medlemmene, sortert etter tema, rett i innboksen. Vi sender deg "
        "først en e-post for å bekrefte adressen.",
        "email": "E-post",
        "name": "Navn (valgfritt)",
        "language": "Språk",
        "themes": "Temaer",
        "themes_help": "Du får seksjonene for temaene du velger.",
        "subscribe_button": "Abonner",
        "fix_errors": "Rett opp feltene som er merket nedenfor.",
        "inbox_title": "Sjekk innboksen din",
        "inbox_body": "Hvis denne adressen kan motta nyhetsbrevet, er en e-post med en bekreftelseslenke "
        "på vei til {email}. Lenken gjelder i 7 dager.",
        "confirmed_title": "Du abonnerer nå",
        "confirmed_body": "Takk: abonnementet ditt er bekreftet.",
        "already_title": "Du abonnerer allerede",
        "already_body": "Denne adressen er allerede bekreftet. Du trenger ikke gjøre mer.",
        "refused_title": "Vi kan ikke melde på denne adressen",
        "refused_body": "E-post til denne adressen kunne ikke leveres tidligere, eller ble meldt som "
        "uønsket, så vi aktiverer den ikke igjen automatisk. Kontakt oss hvis du vil ha nyhetsbrevet igjen.",
        "invalid_title": "Denne lenken virker ikke",
        "invalid_body": "Lenken er ugyldig eller utløpt.",
        "stale_body": "Denne bekreftelseslenken er eldre enn avmeldingen din.",
        "subscribe_again": "Abonner på nytt",
        "preferences_title": "Innstillingene dine",
        "preferences_intro": "Velg temaene du vil lese om og språket i nyhetsbrevet.",
        "save": "Lagre",
        "saved": "Innstillingene dine er lagret.",
        "unsubscribe_link": "Meld deg av",
        "unsubscribe_title": "Meld deg av",
        "unsubscribe_question": "Slutte å sende nyhetsbrevet til {email}?",
        "unsubscribe_button": "Meld meg av",
        "not_subscribed": "{email} får ikke nyhetsbrevet.",
        "gone": "Denne adressen er ikke lenger på listen vår.",
        "unsubscribed_title": "Du er meldt av",
        "unsubscribed_body": "Du får ikke nyhetsbrevet lenger.",
        "en": "Engelsk",
        "no": "Norsk",
    },
}


def texts(language: str) -> dict[str, str]:
    return {**TEXT["en"], **TEXT.get(language, {})}


# --- subscribe and confirm ----------------------------------------------------------------------


@bp.route("/subscribe", methods=("GET", "POST"))
def subscribe() -> Any:
    svc = services()
    lang: str = _page_language()
    if request.method == "GET":
        values = {"email": "", "name": "", "language": lang, "themes": [t.id for t in svc.config.themes]}
        return _page("subscribe/form.html", lang, values=values, errors={})
    theme_ids = [t.id for t in svc.config.themes]
    chosen = request.form.getlist("themes")
    form, errors = subscribe_jobs.check_request(
        request.form.get("email", ""),
        request.form.get("name", ""),
        request.form.get("language", ""),
        chosen,
        theme_ids,
    )
    if form is None:
        language = request.form.get("language", "")
        lang = language if language in TEXT else lang
        values = {**request.form.to_dict(), "themes": chosen}
        return _page("subscribe/form.html", lang, values=values, errors=errors), 400
    outcome = subscribe_jobs.request_subscription(svc, form.email, form.name, form.language, form.themes)
    log.info("subscribe request: %s", outcome.action)
    return _page("subscribe/check_inbox.html", form.language, email=form.email)


@bp.get("/confirm/<token>")
def confirm(token: str) -> Any:
    try:
        outcome = subscribe_jobs.confirm_subscription(services(), token)
    except TokenError:
        return _invalid_link(_page_language())
    lang = outcome.subscriber.language if outcome.subscriber else _page_language()
    if outcome.action == "stale":
        return _invalid_link(lang, reason="stale_body")
    key = {"activated": "confirmed", "already_active": "already"}.get(outcome.action, "refused")
    return _page("subscribe/confirmed.html", lang, key=key)


# --- preferences --------------------------------------------------------------------------------


@bp.route("/preferences/<token>", methods=("GET", "POST"))
def preferences(token: str) -> Any:
    svc = services()
    try:
        sub = subscribe_jobs.preferences(svc, token)
    except TokenError:
        return _invalid_link(_page_language())
    if request.method == "GET":
        return _preferences_page(sub, token, {"language": sub.language, "themes": _themes_of(sub)}, {})
    language = request.form.get("language", "")
    chosen = request.form.getlist("themes")
    values = {"language": language if language in TEXT else sub.language, "themes": chosen}
    errors = {}
    if language not in TEXT:
        errors["language"] = "Choose English or Norwegian."
    _, theme_error = subscribe_jobs.check_themes(chosen, [t.id for t in svc.config.themes])
    if theme_error:
        errors["themes"] = theme_error
    if errors:
        return _preferences_page(sub, token, values, errors), 400
    try:
        saved = subscribe_jobs.save_preferences(svc, token, language=language, themes=chosen)
    except SubscriberError as exc:
        return _preferences_page(sub, token, values, {"themes": str(exc)}), 400
    return _preferences_page(
        saved, token, {"language": saved.language, "themes": _themes_of(saved)}, {}, saved_now=True
    )


def _preferences_page(
    sub: Subscriber, token: str, values: dict[str, Any], errors: dict[str, str], *, saved_now: bool = False
) -> str:
    return _page(
        "subscribe/preferences.html",
        values["language"] if not errors else sub.language,
        subscriber=sub,
        token=token,
        values=values,
        errors=errors,
        saved=saved_now,
        unsubscribe_token=subscribe_jobs.unsubscribe_token(services(), sub),
    )


def _themes_of(sub: Subscriber) -> list[str]:
    all_ids = [t.id for t in services().config.themes]
    return all_ids if sub.themes is None else [t for t in all_ids if t in sub.themes]


# --- unsubscribe --------------------------------------------------------------------------------


@bp.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> Any:
    """A confirm page only: link scanners follow GET links, and must not unsubscribe anyone."""
    try:
        sub = subscribe_jobs.unsubscriber(services(), token)
    except TokenError:
        return _invalid_link(_page_language())
    lang = sub.language if sub else _page_language()
    return _page("subscribe/unsubscribe.html", lang, subscriber=sub, token=token)


@bp.post("/unsubscribe/<token>")
@csrf.exempt  # RFC 8058: mail clients POST `List-Unsubscribe=One-Click` without any page or token
def unsubscribe_one_click(token: str) -> Any:
    try:
        outcome = subscribe_jobs.unsubscribe(services(), token)
    except TokenError:
        return _invalid_link(_page_language())
    log.info("unsubscribe: %s", outcome.action)
    lang = outcome.subscriber.language if outcome.subscriber else _page_language()
    return _page("subscribe/unsubscribed.html", lang)


# --- helpers ------------------------------------------------------------------------------------


def _page(template: str, lang: str, **context: Any) -> str:
    config: Config = services().config
    return render_template(
        template,
        lang=lang,
        t=texts(lang),
        settings=config.settings,
        themes=[(th.id, th.label_in(lang)) for th in config.themes],
        languages=list(subscribe_jobs.LANGUAGES),
        **context,
    )


def _invalid_link(lang: str, reason: str = "invalid_body") -> tuple[str, int]:
    return _page("subscribe/invalid_link.html", lang, reason=reason), 400


def _page_language() -> Language:
    """`?lang=no|en`, else the browser's preference (Norwegian Bokmål and Nynorsk read `no`)."""
    asked = request.args.get("lang", "")
    if asked in TEXT:
        return asked  # type: ignore[return-value]
    best = request.accept_languages.best_match(["en", "no", "nb", "nn"], default="en")
    return "no" if best in ("no", "nb", "nn") else "en"
