from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline.deliver.webhooks import (
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    mailgun_events,
    parse_postmark,
    postmark_events,
    sendgrid_events,
)
from pipeline.errors import WebhookError

NOW = 1_764_147_600.0  # 2025-11-26 09:00 UTC
MG_KEY = "mailgun-signing-key"


class SeenTokens:
    def __init__(self) -> None:
        self.tokens: set[str] = set()

    def __call__(self, token: str) -> bool:
        if token in self.tokens:
            return True
        self.tokens.add(token)
        return False


def mailgun_body(
    event: dict[str, object], *, key: str = MG_KEY, ts: float = NOW, token: str = "t" * 50
) -> bytes:
    sig = hmac.new(key.encode(), f"{int(ts)}{token}".encode(), hashlib.sha256).hexdigest()
    body = {"signature": {"timestamp": str(int(ts)), "token": token, "signature": sig}, "event-data": event}
    return json.dumps(body).encode()


HARD_BOUNCE = {
    "event": "failed",
    "severity": "permanent",
    "recipient": "Kari@Example.no",
    "timestamp": NOW - 60,
    "id": "evt-1",
    "reason": "bounce",
    "delivery-status": {"code": 550, "description": "mailbox does not exist"},
    "user-variables": {"pipeline_message_id": "d12.s5"},
}


def test_mailgun_valid_signature_gives_a_normalised_bounce() -> None:
    [event] = mailgun_events(mailgun_body(HARD_BOUNCE), MG_KEY, now=NOW, seen=SeenTokens())
    assert (event.provider, event.kind, event.email, event.message_id) == (
        "mailgun",
        "bounce",
        "kari@example.no",
        "d12.s5",
    )
    assert event.permanent and event.reason == "mailbox does not exist" and event.event_id == "evt-1"
    assert event.at == datetime.fromtimestamp(NOW - 60, UTC)


def test_mailgun_temporary_failure_is_not_permanent_and_other_kinds_map() -> None:
    seen = SeenTokens()
    soft = {**HARD_BOUNCE, "severity": "temporary"}
    assert not mailgun_events(mailgun_body(soft, token="a" * 50), MG_KEY, now=NOW, seen=seen)[0].permanent
    kinds = []
    for i, name in enumerate(["complained", "unsubscribed", "delivered", "opened"]):
        events = mailgun_events(
            mailgun_body({**HARD_BOUNCE, "event": name}, token=f"{i}" * 50), MG_KEY, now=NOW, seen=seen
        )
        kinds.append([e.kind for e in events])
    assert kinds == [["complaint"], ["unsubscribe"], ["delivered"], []]


def test_mailgun_invalid_signature_stale_and_replayed_are_refused() -> None:
    seen = SeenTokens()
    with pytest.raises(WebhookError, match="bad signature"):
        mailgun_events(mailgun_body(HARD_BOUNCE, key="other-key"), MG_KEY, now=NOW, seen=seen)
    assert seen.tokens == set()  # a forged request does not burn the token
    with pytest.raises(WebhookError, match="stale"):
        mailgun_events(mailgun_body(HARD_BOUNCE, ts=NOW - 3600), MG_KEY, now=NOW, seen=seen)
    body = mailgun_body(HARD_BOUNCE)
    mailgun_events(body, MG_KEY, now=NOW, seen=seen)
    with pytest.raises(WebhookError, match="replayed"):
        mailgun_events(body, MG_KEY, now=NOW + 1, seen=seen)
    tampered = json.loads(body)
    tampered["signature"]["token"] = "x" * 50
    with pytest.raises(WebhookError):
        mailgun_events(json.dumps(tampered).encode(), MG_KEY, now=NOW, seen=seen)


@pytest.fixture(scope="module")
def sendgrid_key() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()  # the form SendGrid's settings page shows


SG_EVENTS = [
    {
        "email": "ola@example.no",
        "timestamp": int(NOW),
        "event": "bounce",
        "type": "bounce",
        "reason": "550 5.1.1 unknown",
        "sg_event_id": "e1",
        "pipeline_message_id": "d12.s7",
    },
    {
        "email": "per@example.no",
        "timestamp": int(NOW),
        "event": "spamreport",
        "sg_event_id": "e2",
        "pipeline_message_id": "d12.s8",
    },
    {"email": "liv@example.no", "timestamp": int(NOW), "event": "group_unsubscribe", "sg_event_id": "e3"},
    {"email": "liv@example.no", "timestamp": int(NOW), "event": "open", "sg_event_id": "e4"},
    {
        "email": "eva@example.no",
        "timestamp": int(NOW),
        "event": "bounce",
        "type": "blocked",
        "sg_event_id": "e5",
    },
]


def _sign(private: ec.EllipticCurvePrivateKey, ts: str, raw: bytes) -> str:
    return base64.b64encode(private.sign(ts.encode() + raw, ec.ECDSA(hashes.SHA256()))).decode()


def test_sendgrid_signed_events_verify_and_parse(
    sendgrid_key: tuple[ec.EllipticCurvePrivateKey, str],
) -> None:
    private, public = sendgrid_key
    raw = json.dumps(SG_EVENTS).encode()
    ts = str(int(NOW))
    headers = {SENDGRID_SIGNATURE_HEADER: _sign(private, ts, raw), SENDGRID_TIMESTAMP_HEADER: ts}
    events = sendgrid_events(raw, headers, public, now=NOW)
    assert [(e.kind, e.email, e.message_id, e.permanent) for e in events] == [
        ("bounce", "ola@example.no", "d12.s7", True),
        ("complaint", "per@example.no", "d12.s8", True),
        ("unsubscribe", "liv@example.no", None, False),
        ("bounce", "eva@example.no", None, False),
    ]


def test_sendgrid_bad_signature_tampered_body_and_stale_are_refused(
    sendgrid_key: tuple[ec.EllipticCurvePrivateKey, str],
) -> None:
    private, public = sendgrid_key
    raw = json.dumps(SG_EVENTS).encode()
    ts = str(int(NOW))
    good = _sign(private, ts, raw)
    with pytest.raises(WebhookError, match="bad signature"):
        sendgrid_events(
            raw.replace(b"ola", b"olb"),
            {SENDGRID_SIGNATURE_HEADER: good, SENDGRID_TIMESTAMP_HEADER: ts},
            public,
            now=NOW,
        )
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(WebhookError, match="bad signature"):
        sendgrid_events(
            raw,
            {SENDGRID_SIGNATURE_HEADER: _sign(other, ts, raw), SENDGRID_TIMESTAMP_HEADER: ts},
            public,
            now=NOW,
        )
    old = str(int(NOW) - 3600)
    with pytest.raises(WebhookError, match="stale"):
        sendgrid_events(
            raw,
            {SENDGRID_SIGNATURE_HEADER: _sign(private, old, raw), SENDGRID_TIMESTAMP_HEADER: old},
            public,
            now=NOW,
        )
    with pytest.raises(WebhookError, match="missing"):
        sendgrid_events(raw, {}, public, now=NOW)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_postmark_basic_auth_and_events() -> None:
    bounce = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "Email": "Jon@Example.no",
        "BouncedAt": "2026-11-26T09:05:01.1234567Z",
        "Description": "The server was unable to deliver your message",
        "Metadata": {"pipeline_message_id": "d12.s9"},
        "MessageStream": "broadcast",
    }
    raw = json.dumps(bounce).encode()
    [event] = postmark_events(raw, _basic("hooks", "pw-123"), "hooks", "pw-123")
    assert (event.kind, event.email, event.message_id, event.permanent) == (
        "bounce",
        "jon@example.no",
        "d12.s9",
        True,
    )
    assert event.at == datetime(2026, 11, 26, 9, 5, 1, 123456, tzinfo=UTC)
    for wrong in (_basic("hooks", "pw-124"), _basic("hook", "pw-123"), "", "Bearer pw-123"):
        with pytest.raises(WebhookError):
            postmark_events(raw, wrong, "hooks", "pw-123")


def test_postmark_record_types() -> None:
    soft = parse_postmark(
        {
            "RecordType": "Bounce",
            "Type": "SoftBounce",
            "Email": "a@example.no",
            "BouncedAt": "2026-11-26T09:00:00Z",
        }
    )
    complaint = parse_postmark(
        {"RecordType": "SpamComplaint", "Email": "b@example.no", "BouncedAt": "2026-11-26T09:00:00Z"}
    )
    unsub = parse_postmark(
        {
            "RecordType": "SubscriptionChange",
            "Recipient": "c@example.no",
            "SuppressSending": True,
            "ChangedAt": "2026-11-26T09:00:00Z",
            "SuppressionReason": "ManualSuppression",
        }
    )
    back = parse_postmark(
        {
            "RecordType": "SubscriptionChange",
            "Recipient": "c@example.no",
            "SuppressSending": False,
            "ChangedAt": "2026-11-26T09:00:00Z",
        }
    )
    delivered = parse_postmark(
        {"RecordType": "Delivery", "Recipient": "d@example.no", "DeliveredAt": "2026-11-26T09:00:00+01:00"}
    )
    assert [e.kind for e in soft + complaint + unsub + back + delivered] == [
        "bounce",
        "complaint",
        "unsubscribe",
        "delivered",
    ]
    assert not soft[0].permanent and complaint[0].permanent
