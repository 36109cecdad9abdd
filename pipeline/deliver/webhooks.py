"""Provider event webhooks: verify the signature, then read events into `DeliveryEvent`s.

Pure functions: the web layer passes the raw body, the headers it needs, the secrets, the current time
and a replay check, and maps `WebhookError` to 401. Nothing here touches Flask or the database.

- Mailgun signs `timestamp + token` with HMAC-SHA256 and the webhook signing key; stale timestamps and
  tokens seen before are refused (the replay check is injected: `seen(token)` answers whether the token
  was used already, and remembers it).
- SendGrid's signed event webhook: ECDSA P-256 / SHA-256 over `timestamp + raw body`, signature (base64
  DER) in X-Twilio-Email-Event-Webhook-Signature, timestamp in X-Twilio-Email-Event-Webhook-Timestamp.
- Postmark: HTTP basic auth with a user and password we chose, compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline.errors import WebhookError
from pipeline.types import DeliveryEvent

#: How old (or how far in the future) a signed timestamp may be, in seconds.
MAX_SKEW_S = 300
#: The custom variable / arg / metadata key that carries our message id.
MESSAGE_ID_KEY = "pipeline_message_id"

SENDGRID_SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


# --- Mailgun --------------------------------------------------------------------------------------


def verify_mailgun(
    signing_key: str,
    signature: Mapping[str, Any],
    *,
    now: float,
    seen: Callable[[str], bool],
    max_skew_s: int = MAX_SKEW_S,
) -> None:
    """Check Mailgun's `signature` object ({timestamp, token, signature}); raise WebhookError if wrong."""
    if not signing_key:
        raise WebhookError("mailgun: no webhook signing key configured")
    timestamp, token, sig = (str(signature.get(k, "")) for k in ("timestamp", "token", "signature"))
    if not (timestamp and token and sig):
        raise WebhookError("mailgun: signature, token or timestamp missing")
    expected = hmac.new(signing_key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig.lower()):
        raise WebhookError("mailgun: bad signature")
    _check_fresh("mailgun", timestamp, now, max_skew_s)
    # Checked last, so a forged request cannot burn a real token.
    if seen(token):
        raise WebhookError("mailgun: token already used (replayed request)")


def parse_mailgun(body: Mapping[str, Any]) -> list[DeliveryEvent]:
    """Read one Mailgun webhook body (`event-data`); events we do not act on give an empty list."""
    data = body.get("event-data")
    if not isinstance(data, Mapping):
        raise WebhookError("mailgun: no event-data")
    event = str(data.get("event", ""))
    permanent = False
    if event == "failed":
        kind = "bounce"
        permanent = data.get("severity") == "permanent"
    elif event == "complained":
        kind = "complaint"
    elif event == "unsubscribed":
        kind = "unsubscribe"
    elif event == "delivered":
        kind = "delivered"
    else:
        return []
    status = _mapping(data.get("delivery-status"))
    variables = _mapping(data.get("user-variables"))
    reason = str(status.get("description") or status.get("message") or data.get("reason") or "")
    return [
        DeliveryEvent(
            provider="mailgun",
            kind=kind,  # type: ignore[arg-type]
            email=_email(data.get("recipient")),
            message_id=_opt(variables.get(MESSAGE_ID_KEY)),
            at=_from_epoch(data.get("timestamp")),
            permanent=permanent or kind == "complaint",
            reason=reason,
            event_id=str(data.get("id", "")),
        )
    ]


def mailgun_events(
    raw: bytes, signing_key: str, *, now: float, seen: Callable[[str], bool]
) -> list[DeliveryEvent]:
    """Verify and read a Mailgun webhook request body (JSON)."""
    body = _json_object("mailgun", raw)
    sig = body.get("signature")
    verify_mailgun(signing_key, sig if isinstance(sig, Mapping) else {}, now=now, seen=seen)
    return parse_mailgun(body)


# --- SendGrid -------------------------------------------------------------------------------------


def load_sendgrid_key(public_key: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER), or PEM."""
    try:
        if "BEGIN PUBLIC KEY" in public_key:
            key = serialization.load_pem_public_key(public_key.encode())
        else:
            key = serialization.load_der_public_key(base64.b64decode(public_key.strip()))
    except (ValueError, binascii.Error) as e:
        raise WebhookError(f"sendgrid: unreadable verification key: {e}") from e
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise WebhookError("sendgrid: the verification key is not an elliptic-curve key")
    return key


def verify_sendgrid(
    public_key: str,
    raw: bytes,
    signature: str,
    timestamp: str,
    *,
    now: float,
    max_skew_s: int = MAX_SKEW_S,
) -> None:
    """Check the ECDSA signature of a SendGrid event webhook over `timestamp + raw body`."""
    if not (signature and timestamp):
        raise WebhookError("sendgrid: signature or timestamp header missing")
    key = load_sendgrid_key(public_key)
    try:
        key.verify(base64.b64decode(signature), timestamp.encode() + raw, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError, binascii.Error) as e:
        raise WebhookError("sendgrid: bad signature") from e
    _check_fresh("sendgrid", timestamp, now, max_skew_s)


_SENDGRID_KINDS = {
    "bounce": "bounce",
    "dropped": "bounce",
    "blocked": "bounce",
    "deferred": None,
    "spamreport": "complaint",
    "unsubscribe": "unsubscribe",
    "group_unsubscribe": "unsubscribe",
    "delivered": "delivered",
}


def parse_sendgrid(events: Any) -> list[DeliveryEvent]:
    """Read SendGrid's JSON array of events; custom args come back as top-level keys of each event."""
    if not isinstance(events, list):
        raise WebhookError("sendgrid: the body is not a list of events")
    out: list[DeliveryEvent] = []
    for e in events:
        if not isinstance(e, Mapping):
            continue
        kind = _SENDGRID_KINDS.get(str(e.get("event", "")))
        if kind is None:
            continue
        # "bounce" is a permanent refusal; "blocked" a temporary one; "dropped" means SendGrid will not
        # try (an address it knows bounces, or one on its suppression lists).
        permanent = str(e.get("event")) in ("bounce", "dropped") and e.get("type") != "blocked"
        out.append(
            DeliveryEvent(
                provider="sendgrid",
                kind=kind,  # type: ignore[arg-type]
                email=_email(e.get("email")),
                message_id=_opt(e.get(MESSAGE_ID_KEY)),
                at=_from_epoch(e.get("timestamp")),
                permanent=permanent if kind == "bounce" else kind == "complaint",
                reason=str(e.get("reason") or e.get("response") or ""),
                event_id=str(e.get("sg_event_id", "")),
            )
        )
    return out


def sendgrid_events(
    raw: bytes, headers: Mapping[str, str], public_key: str, *, now: float
) -> list[DeliveryEvent]:
    """Verify and read a SendGrid event webhook request."""
    verify_sendgrid(
        public_key,
        raw,
        headers.get(SENDGRID_SIGNATURE_HEADER, ""),
        headers.get(SENDGRID_TIMESTAMP_HEADER, ""),
        now=now,
    )
    try:
        return parse_sendgrid(json.loads(raw))
    except ValueError as e:
        raise WebhookError(f"sendgrid: the body is not JSON: {e}") from e


# --- Postmark -------------------------------------------------------------------------------------


def verify_postmark(authorization: str, username: str, password: str) -> None:
    """Check the request's `Authorization: Basic ...` against our user and password, in constant time."""
    if not (username and password):
        raise WebhookError("postmark: no webhook user and password configured")
    expected = b"Basic " + base64.b64encode(f"{username}:{password}".encode())
    if not hmac.compare_digest(expected, authorization.strip().encode("utf-8", "replace")):
        raise WebhookError("postmark: bad credentials")


_POSTMARK_PERMANENT = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "Unsubscribe", "SpamComplaint"}


def parse_postmark(body: Any) -> list[DeliveryEvent]:
    """Read one Postmark webhook body (one event per request)."""
    if not isinstance(body, Mapping):
        raise WebhookError("postmark: the body is not a JSON object")
    record = str(body.get("RecordType", ""))
    metadata = _mapping(body.get("Metadata"))
    message_id = _opt(metadata.get(MESSAGE_ID_KEY))
    event_id = str(body.get("ID") or body.get("MessageID") or "")
    if record == "Bounce":
        kind, permanent = "bounce", str(body.get("Type", "")) in _POSTMARK_PERMANENT
        email, at = body.get("Email"), body.get("BouncedAt")
        reason = str(body.get("Description") or body.get("Details") or body.get("Type") or "")
    elif record == "SpamComplaint":
        kind, permanent, email, at = "complaint", True, body.get("Email"), body.get("BouncedAt")
        reason = "spam complaint"
    elif record == "SubscriptionChange":
        if not body.get("SuppressSending"):
            return []  # a reactivation: nothing for us to suppress
        kind, permanent, email, at = "unsubscribe", True, body.get("Recipient"), body.get("ChangedAt")
        reason = str(body.get("SuppressionReason") or "")
    elif record == "Delivery":
        kind, permanent, email, at = "delivered", False, body.get("Recipient"), body.get("DeliveredAt")
        reason = ""
    else:
        return []
    return [
        DeliveryEvent(
            provider="postmark",
            kind=kind,  # type: ignore[arg-type]
            email=_email(email),
            message_id=message_id,
            at=_from_iso(at),
            permanent=permanent,
            reason=reason,
            event_id=f"{record}:{event_id}" if event_id else "",
        )
    ]


def postmark_events(raw: bytes, authorization: str, username: str, password: str) -> list[DeliveryEvent]:
    verify_postmark(authorization, username, password)
    return parse_postmark(_json_object("postmark", raw))


# --- helpers ---------------------------------------------------------------------------------------


def _check_fresh(provider: str, timestamp: str, now: float, max_skew_s: int) -> None:
    try:
        ts = float(timestamp)
    except ValueError as e:
        raise WebhookError(f"{provider}: timestamp is not a number") from e
    if abs(now - ts) > max_skew_s:
        raise WebhookError(f"{provider}: stale timestamp ({int(now - ts)} s old)")


def _json_object(provider: str, raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except ValueError as e:
        raise WebhookError(f"{provider}: the body is not JSON: {e}") from e
    if not isinstance(body, dict):
        raise WebhookError(f"{provider}: the body is not a JSON object")
    return body


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _email(value: object) -> str:
    email = str(value or "").strip().lower()
    if "@" not in email:
        raise WebhookError(f"event without a recipient address: {value!r}")
    return email


def _opt(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


def _from_epoch(value: object) -> datetime:
    try:
        return datetime.fromtimestamp(float(value), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError) as e:
        raise WebhookError(f"event with an unreadable time: {value!r}") from e


def _from_iso(value: object) -> datetime:
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError as e:
        raise WebhookError(f"event with an unreadable time: {value!r}") from e
    return at if at.tzinfo else at.replace(tzinfo=UTC)
