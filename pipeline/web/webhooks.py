"""Provider event webhooks: verify each provider's scheme, then apply bounces, complaints and
unsubscribes idempotently.

- no key configured: 503 with the name of the missing setting (our problem, not the caller's);
- bad or stale signature, wrong credentials, a replayed Mailgun token: 401, and nothing changes;
- valid: 200 `{"applied": n}`, n the events applied now (an event id seen before counts as none).

No CSRF here (providers sign their requests instead), and no session or login.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request

from pipeline.deliver.webhooks import (
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    load_sendgrid_key,
    mailgun_events,
    postmark_events,
    sendgrid_events,
)
from pipeline.errors import WebhookError
from pipeline.jobs.deliver import apply_events
from pipeline.types import DeliveryEvent
from pipeline.web import csrf, services

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
csrf.exempt(bp)

MAILGUN_KEY = "MAILGUN_WEBHOOK_SIGNING_KEY"
SENDGRID_KEY = "SENDGRID_WEBHOOK_PUBLIC_KEY"
POSTMARK_USER = "POSTMARK_WEBHOOK_USER"
POSTMARK_PASSWORD = "POSTMARK_WEBHOOK_PASSWORD"


@bp.post("/mailgun")
def mailgun() -> Any:
    svc = services()
    key = svc.env.get(MAILGUN_KEY, "").strip()
    if not key:
        return _not_configured("mailgun", MAILGUN_KEY)
    now = svc.clock()

    def seen(token: str) -> bool:
        # Remembered only after the signature checked out (see verify_mailgun): forgeries burn nothing.
        return not svc.store.webhooks.first_time("mailgun-token", token, now)

    return _receive(
        "mailgun", lambda: mailgun_events(request.get_data(), key, now=now.timestamp(), seen=seen)
    )


@bp.post("/sendgrid")
def sendgrid() -> Any:
    svc = services()
    key = svc.env.get(SENDGRID_KEY, "").strip()
    if not key:
        return _not_configured("sendgrid", SENDGRID_KEY)
    try:
        load_sendgrid_key(key)
    except WebhookError as exc:
        return _not_configured("sendgrid", SENDGRID_KEY, problem=str(exc))
    now = svc.clock().timestamp()
    headers = {
        name: request.headers.get(name, "") for name in (SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER)
    }
    return _receive("sendgrid", lambda: sendgrid_events(request.get_data(), headers, key, now=now))


@bp.post("/postmark")
def postmark() -> Any:
    svc = services()
    user = svc.env.get(POSTMARK_USER, "")
    password = svc.env.get(POSTMARK_PASSWORD, "")
    if not (user and password):
        return _not_configured("postmark", f"{POSTMARK_USER} and {POSTMARK_PASSWORD}")
    authorization = request.headers.get("Authorization", "")
    return _receive("postmark", lambda: postmark_events(request.get_data(), authorization, user, password))


def _receive(provider: str, read: Callable[[], list[DeliveryEvent]]) -> Any:
    try:
        events = read()
    except WebhookError as exc:
        log.warning("%s webhook refused: %s", provider, exc)
        return jsonify(error=str(exc)), 401
    outcomes = apply_events(services(), events)
    applied = sum(1 for o in outcomes if o != "duplicate")
    log.info("%s webhook: %d events, %d applied", provider, len(events), applied)
    return jsonify(applied=applied)


def _not_configured(provider: str, setting: str, *, problem: str = "") -> Any:
    message = problem or f"{provider} webhooks are not configured: set {setting} in the environment"
    log.error("%s webhook received but %s", provider, message)
    return jsonify(error=message), 503
