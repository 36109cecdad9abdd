"""Use cases of the public subscription pages: double opt-in, confirm, preferences, unsubscribe.

The web layer validates the form with `check_request` and calls these; nothing here knows Flask. The
answers never tell a visitor whether an address is subscribed: `request_subscription` returns what it did
for logs and tests, and the page says "check your inbox" whatever it was.

Rules:
- a new address becomes `pending` and gets the confirmation mail (a signed link, valid 7 days);
- a pending address gets a fresh mail (its form values replace the old ones), at most once per
  `RESEND_INTERVAL`, so the form cannot be used to flood someone's inbox;
- an active address is left as it is, and no mail goes out;
- an unsubscribed address gets a confirmation mail but stays unsubscribed until that link is followed: a
  person may come back by their own confirmed wish. A confirm link signed before the unsubscription never
  re-activates (a link scanner revisiting an old mail must not undo an unsubscribe);
- a bounced or complained address, or an erased one (hashed suppression), gets no mail and is never
  re-activated here.
"""

from __future__ import annotations

import html
import logging
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from pipeline.deliver.audience import valid_email
from pipeline.deliver.tokens import confirm_url, read_token
from pipeline.errors import PipelineError, SubscriberError, TokenError
from pipeline.jobs.deliver import provider_for, secret_key
from pipeline.jobs.services import Services
from pipeline.types import Branding, Language, OutgoingMessage, Subscriber

log = logging.getLogger(__name__)

LANGUAGES: tuple[Language, ...] = ("en", "no")
#: A pending (or unsubscribed) address gets at most one confirmation mail in this interval.
RESEND_INTERVAL = timedelta(minutes=5)
MAX_NAME = 200

RequestAction = Literal["sent", "throttled", "active", "refused"]
ConfirmAction = Literal["activated", "already_active", "refused", "stale"]
UnsubscribeAction = Literal["unsubscribed", "already", "gone"]


@dataclass(frozen=True)
class SubscriptionForm:
    """A checked subscription (or preferences) form. `themes` None: every theme, present and future."""

    email: str
    name: str
    language: Language
    themes: frozenset[str] | None


@dataclass(frozen=True)
class RequestOutcome:
    """What `request_subscription` did; for logs and tests, never shown to the visitor."""

    action: RequestAction
    subscriber: Subscriber | None = None
    mail_error: str | None = None


@dataclass(frozen=True)
class ConfirmOutcome:
    action: ConfirmAction
    subscriber: Subscriber | None = None


@dataclass(frozen=True)
class UnsubscribeOutcome:
    action: UnsubscribeAction
    subscriber: Subscriber | None = None


# --- checking the form (pure) ---------------------------------------------------------------------


def check_request(
    email: str, name: str, language: str, themes: Iterable[str], theme_ids: Collection[str]
) -> tuple[SubscriptionForm | None, dict[str, str]]:
    """The checked form, or per-field errors (field name -> message)."""
    errors: dict[str, str] = {}
    email = email.strip()
    if not email:
        errors["email"] = "Enter your email address."
    elif not valid_email(email):
        errors["email"] = "This does not look like an email address."
    name = " ".join(name.split())  # one line: no control characters or line breaks survive
    if len(name) > MAX_NAME:
        errors["name"] = f"At most {MAX_NAME} characters, please."
    chosen, theme_error = check_themes(themes, theme_ids)
    if theme_error:
        errors["themes"] = theme_error
    if language not in LANGUAGES:
        errors["language"] = "Choose English or Norwegian."
    if errors:
        return None, errors
    return SubscriptionForm(email=email, name=name, language=language, themes=chosen), {}  # type: ignore[arg-type]


def check_themes(themes: Iterable[str], theme_ids: Collection[str]) -> tuple[frozenset[str] | None, str]:
    """The chosen themes (None when all are chosen, so themes added later reach them too), or an error."""
    chosen = frozenset(t for t in themes if t)
    unknown = chosen - set(theme_ids)
    if unknown:
        return None, f"Unknown theme: {', '.join(sorted(unknown))}."
    if not chosen and theme_ids:
        return None, "Choose at least one theme."
    return (None if chosen >= set(theme_ids) else chosen), ""


# --- subscribe ------------------------------------------------------------------------------------


def request_subscription(
    svc: Services,
    email: str,
    name: str = "",
    language: str = "en",
    themes: Iterable[str] | None = None,
) -> RequestOutcome:
    """Double opt-in, step one: record a pending subscriber and send the confirmation mail.

    `themes` None means every theme. Raises SubscriberError when the form values are not valid.
    """
    theme_ids = [t.id for t in svc.config.themes]
    form, errors = check_request(email, name, language, theme_ids if themes is None else themes, theme_ids)
    if form is None:
        raise SubscriberError("; ".join(f"{k}: {v}" for k, v in errors.items()))
    now = svc.clock()
    subs = svc.store.subscribers
    if subs.is_suppressed(form.email):
        return RequestOutcome("refused")
    record = subs.record(form.email)
    if record is None:
        outcome = subs.add(
            form.email,
            name=form.name,
            language=form.language,
            themes=form.themes,
            status="pending",
            source="web",
            now=now,
        )
        if outcome.subscriber is None:  # erased meanwhile
            return RequestOutcome("refused")
        return _send(svc, outcome.subscriber)
    current = record.subscriber
    if current.status == "active":
        return RequestOutcome("active", current)
    if current.status in ("bounced", "complained"):
        return RequestOutcome("refused", current)
    if now - record.updated_at < RESEND_INTERVAL:
        return RequestOutcome("throttled", current)
    if current.status == "pending":
        subs.add(
            form.email,
            name=form.name,
            language=form.language,
            themes=form.themes,
            status="pending",
            source="web",
            now=now,
            update_existing=True,
        )
    else:  # unsubscribed: keep the wish for when they confirm (this also marks the time of this request)
        subs.update_preferences(current.id, language=form.language, themes=form.themes, now=now)
    return _send(svc, subs.get(current.id))


def send_confirmation(svc: Services, subscriber: Subscriber) -> RequestOutcome:
    """Send the confirmation mail to one subscriber (also for imports done with double opt-in)."""
    return _send(svc, subscriber)


def _send(svc: Services, sub: Subscriber) -> RequestOutcome:
    settings = svc.config.settings
    link = confirm_url(settings.public_url, secret_key(svc), sub.id, sub.email)
    message = confirmation_message(
        sub, link, settings.branding, message_id=f"confirm-{sub.id}-{secrets.token_hex(6)}"
    )
    try:
        [result] = provider_for(svc).send_batch([message])
    except PipelineError as exc:
        # Logged for the operator; the visitor gets the same neutral answer as everyone else.
        log.error("confirmation mail to subscriber %s not sent: %s", sub.id, exc)
        return RequestOutcome("sent", sub, mail_error=str(exc))
    if result.status != "sent":
        log.error("confirmation mail to subscriber %s %s: %s", sub.id, result.status, result.reason)
        return RequestOutcome("sent", sub, mail_error=result.reason or result.status)
    return RequestOutcome("sent", sub)


_MAIL_TEXT = {
    "en": {
        "subject": "Please confirm your subscription to {name} news",
        "greeting": "Hello {person},",
        "greeting_anon": "Hello,",
        "body": "Someone, hopefully you, asked to receive the {name} news digest at this address. "
        "Please confirm by opening this link (it is valid for 7 days):",
        "button": "Confirm my subscription",
        "ignore": "If you did not ask for this, ignore this message: you will not get anything more.",
    },
    "no": {
        "subject": "Bekreft abonnementet ditt på nyhetsbrevet fra {name}",
        "greeting": "Hei {person},",
        "greeting_anon": "Hei,",
        "body": "Noen, forhåpentligvis du, har bedt om å få nyhetsbrevet fra {name} til denne adressen. "
        "Bekreft ved å åpne denne lenken (den gjelder i 7 dager):",
        "button": "Bekreft abonnementet",
        "ignore": "Har du ikke bedt om dette, kan du se bort fra e-posten: du får ikke mer fra oss.",
    },
}


def confirmation_message(
    sub: Subscriber, link: str, branding: Branding, *, message_id: str
) -> OutgoingMessage:
    """The confirmation mail: short plain text and HTML parts in the subscriber's language."""
    t = _MAIL_TEXT.get(sub.language, _MAIL_TEXT["en"])
    brand = branding.name
    greeting = t["greeting"].format(person=sub.name) if sub.name else t["greeting_anon"]
    body = t["body"].format(name=brand)
    text = f"{greeting}\n\n{body}\n\n{link}\n\n{t['ignore']}\n\n--\n{branding.postal_address}\n"
    e = html.escape
    page = (
        f'<!doctype html><html lang="{e(sub.language)}"><head><meta charset="utf-8">'
        f"<title>{e(t['subject'].format(name=brand))}</title></head>"
        f'<body style="font-family:Arial,sans-serif;color:#1d2a33">'
        f"<p>{e(greeting)}</p><p>{e(body)}</p>"
        f'<p><a href="{e(link)}" style="display:inline-block;background:{e(branding.primary_colour)};'
        f'color:#ffffff;padding:10px 18px;text-decoration:none;border-radius:4px">{e(t["button"])}</a></p>'
        f'<p style="font-size:13px">{e(link)}</p>'
        f'<p style="font-size:13px;color:#555">{e(t["ignore"])}</p>'
        f'<p style="font-size:12px;color:#777">{e(branding.postal_address)}</p></body></html>'
    )
    return OutgoingMessage(
        message_id=message_id,
        to=sub.email,
        subject=t["subject"].format(name=brand),
        html=page,
        text=text,
    )


# --- confirm --------------------------------------------------------------------------------------


def confirm_subscription(svc: Services, token: str) -> ConfirmOutcome:
    """Double opt-in, step two: the signed link activates the subscriber (consent time recorded).

    Raises TokenError when the link is invalid, expired, or for an address no longer stored.
    """
    data = read_token(secret_key(svc), "confirm", token)
    sub = _subscriber_of(svc, data.subscriber_id, data.email, "confirm")
    subs = svc.store.subscribers
    if sub.status == "active":
        return ConfirmOutcome("already_active", sub)
    if sub.status in ("bounced", "complained"):
        return ConfirmOutcome("refused", sub)
    if sub.status == "unsubscribed":
        record = subs.record(sub.email)
        # Only a link asked for after the unsubscription (request_subscription marks the time).
        if record is None or data.issued_at < record.updated_at.replace(microsecond=0):
            return ConfirmOutcome("stale", sub)
    subs.set_status(
        sub.id, "active", svc.clock(), only_from=("pending", "unsubscribed"), consent_source="web"
    )
    return ConfirmOutcome("activated", subs.get(sub.id))


# --- preferences ----------------------------------------------------------------------------------


def preferences(svc: Services, token: str) -> Subscriber:
    """The subscriber a preferences link is for. Raises TokenError when the link is not valid."""
    data = read_token(secret_key(svc), "preferences", token)
    return _subscriber_of(svc, data.subscriber_id, data.email, "preferences")


def save_preferences(svc: Services, token: str, *, language: str, themes: Iterable[str] | None) -> Subscriber:
    """Save themes (None: all) and language through a preferences link; returns the subscriber as saved.

    Raises TokenError for a bad link and SubscriberError for values that are not valid.
    """
    sub = preferences(svc, token)
    theme_ids = [t.id for t in svc.config.themes]
    chosen, error = check_themes(theme_ids if themes is None else themes, theme_ids)
    if error:
        raise SubscriberError(error)
    if language not in LANGUAGES:
        raise SubscriberError(f"unknown language '{language}' (en or no)")
    svc.store.subscribers.update_preferences(sub.id, language=language, themes=chosen, now=svc.clock())
    return svc.store.subscribers.get(sub.id)


# --- unsubscribe ----------------------------------------------------------------------------------


def unsubscriber(svc: Services, token: str) -> Subscriber | None:
    """Who an unsubscribe link is for (None: erased since). Raises TokenError when it is not valid."""
    data = read_token(secret_key(svc), "unsubscribe", token)
    try:
        return _subscriber_of(svc, data.subscriber_id, data.email, "unsubscribe")
    except TokenError:
        return None


def unsubscribe(svc: Services, token: str) -> UnsubscribeOutcome:
    """RFC 8058 one-click: idempotent, and a valid link always succeeds (an erased address is gone
    already). Bounced and complained subscribers keep their status: they get nothing either way."""
    sub = unsubscriber(svc, token)
    if sub is None:
        return UnsubscribeOutcome("gone")
    changed = svc.store.subscribers.set_status(
        sub.id, "unsubscribed", svc.clock(), only_from=("active", "pending")
    )
    return UnsubscribeOutcome("unsubscribed" if changed else "already", svc.store.subscribers.get(sub.id))


# --- helpers --------------------------------------------------------------------------------------


def _subscriber_of(svc: Services, subscriber_id: int, email: str, purpose: str) -> Subscriber:
    """The subscriber a valid token names, if the address still matches (ids may be reused after an
    erasure: the address in the token keeps a link from reaching someone else)."""
    from pipeline.errors import NotFound

    try:
        sub = svc.store.subscribers.get(subscriber_id)
    except NotFound:
        sub = None
    if sub is None or sub.email != email.strip().lower():
        raise TokenError(f"the {purpose} link is no longer valid")
    return sub


def unsubscribe_token(svc: Services, sub: Subscriber) -> str:
    """The subscriber's personal unsubscribe token (the preferences page links to it)."""
    from pipeline.deliver.tokens import make_token

    return make_token(secret_key(svc), "unsubscribe", sub.id, sub.email)
