from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pipeline.deliver.webhooks import SENDGRID_SIGNATURE_HEADER, SENDGRID_TIMESTAMP_HEADER
from pipeline.types import DeliveryChange, NewDelivery
from tests.web.conftest import Web

MG_KEY = "mailgun-signing-key"  # as set in the fixture's environment
KARI = "kari@example.no"
OLA = "ola@example.no"


def add_subscribers(web: Web, *addresses: str) -> None:
    for address in addresses:
        web.svc.store.subscribers.add(address, status="active", now=web.svc.clock())


def status_of(web: Web, address: str) -> str:
    sub = web.svc.store.subscribers.find(address)
    assert sub is not None
    return sub.status


def uncertain_delivery(web: Web, address: str, message_id: str) -> int:
    """A delivery whose provider answer was lost: state `uncertain`, waiting for an event to settle it."""
    now = web.svc.clock()
    store = web.svc.store
    digest_id, _ = store.digests.save_draft(
        period_start=now - timedelta(days=7),
        period_end=now,
        language="en",
        subject="News",
        entries=[],
        now=now,
    )
    sub = store.subscribers.find(address)
    assert sub is not None
    store.deliveries.add_deliveries(digest_id, [NewDelivery(sub.id, message_id, "en|*", "queued")], now)
    [row] = store.deliveries.fetch_deliveries(digest_id, "queued", limit=10)
    assert store.deliveries.apply_changes([DeliveryChange(row.id, "queued", "uncertain")], now) == 1
    return digest_id


def delivery_states(web: Web, digest_id: int) -> dict[str, int]:
    return dict(web.svc.store.deliveries.count_states(digest_id))


# --- Mailgun -------------------------------------------------------------------------------------


def mailgun_body(event: dict[str, object], *, token: str, key: str = MG_KEY, ts: int | None = None) -> bytes:
    ts = int(time.time()) if ts is None else ts
    signature = hmac.new(key.encode(), f"{ts}{token}".encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {"signature": {"timestamp": str(ts), "token": token, "signature": signature}, "event-data": event}
    ).encode()


def hard_bounce(address: str, message_id: str, event_id: str = "evt-1") -> dict[str, object]:
    return {
        "event": "failed",
        "severity": "permanent",
        "recipient": address,
        "timestamp": time.time(),
        "id": event_id,
        "delivery-status": {"code": 550, "description": "mailbox does not exist"},
        "user-variables": {"pipeline_message_id": message_id},
    }


def post_mailgun(web: Web, body: bytes):  # type: ignore[no-untyped-def]
    return web.client.post("/webhooks/mailgun", data=body, content_type="application/json")


def test_mailgun_signed_bounce_suppresses_and_settles_the_uncertain_delivery(web: Web) -> None:
    add_subscribers(web, KARI, OLA)
    digest_id = uncertain_delivery(web, KARI, "d1.s1")

    response = post_mailgun(web, mailgun_body(hard_bounce("Kari@Example.no", "d1.s1"), token="a" * 50))
    assert response.status_code == 200 and response.get_json() == {"applied": 1}
    assert status_of(web, KARI) == "bounced" and status_of(web, OLA) == "active"
    assert delivery_states(web, digest_id) == {"failed": 1}
    assert response.headers["X-Content-Type-Options"] == "nosniff"

    # The same event delivered again under a fresh token (providers retry): applied once only.
    again = post_mailgun(web, mailgun_body(hard_bounce(KARI, "d1.s1"), token="b" * 50))
    assert again.status_code == 200 and again.get_json() == {"applied": 0}


def test_mailgun_bad_signature_is_401_changes_nothing_and_burns_no_token(web: Web) -> None:
    add_subscribers(web, KARI)
    digest_id = uncertain_delivery(web, KARI, "d1.s1")
    event = hard_bounce(KARI, "d1.s1")

    forged = post_mailgun(web, mailgun_body(event, token="c" * 50, key="not-the-key"))
    assert forged.status_code == 401 and "bad signature" in forged.get_json()["error"]
    stale = post_mailgun(web, mailgun_body(event, token="d" * 50, ts=int(time.time()) - 3600))
    assert stale.status_code == 401
    assert status_of(web, KARI) == "active" and delivery_states(web, digest_id) == {"uncertain": 1}

    # The forged request used the token of the real one: the real request still goes through.
    assert post_mailgun(web, mailgun_body(event, token="c" * 50)).status_code == 200
    assert status_of(web, KARI) == "bounced"


def test_mailgun_replayed_token_is_401(web: Web) -> None:
    add_subscribers(web, KARI, OLA)
    first = post_mailgun(
        web, mailgun_body({**hard_bounce(KARI, "none"), "event": "delivered"}, token="e" * 50)
    )
    assert first.status_code == 200
    replay = mailgun_body(hard_bounce(OLA, "none", event_id="evt-2"), token="e" * 50)
    response = post_mailgun(web, replay)
    assert response.status_code == 401 and "replayed" in response.get_json()["error"]
    assert status_of(web, OLA) == "active"


def test_mailgun_without_a_signing_key_is_503_not_500(web: Web) -> None:
    add_subscribers(web, KARI)
    web.svc.env = {k: v for k, v in web.svc.env.items() if k != "MAILGUN_WEBHOOK_SIGNING_KEY"}
    response = post_mailgun(web, mailgun_body(hard_bounce(KARI, "none"), token="f" * 50))
    assert response.status_code == 503
    assert "MAILGUN_WEBHOOK_SIGNING_KEY" in response.get_json()["error"]
    assert status_of(web, KARI) == "active"


# --- SendGrid ------------------------------------------------------------------------------------


def sendgrid_key_pair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, base64.b64encode(der).decode()  # the form SendGrid's settings page shows


def sendgrid_headers(private: ec.EllipticCurvePrivateKey, body: bytes) -> dict[str, str]:
    ts = str(int(time.time()))
    signature = private.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SENDGRID_SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        SENDGRID_TIMESTAMP_HEADER: ts,
        "Content-Type": "application/json",
    }


SENDGRID_EVENTS = [
    {
        "event": "bounce",
        "email": KARI,
        "timestamp": int(time.time()),
        "sg_event_id": "sg-1",
        "reason": "550 no such user",
        "pipeline_message_id": "d1.s1",
    },
    {"event": "spamreport", "email": OLA, "timestamp": int(time.time()), "sg_event_id": "sg-2"},
    {"event": "open", "email": OLA, "timestamp": int(time.time()), "sg_event_id": "sg-3"},
]


def test_sendgrid_signed_events_apply(web: Web) -> None:
    private, public = sendgrid_key_pair()
    web.svc.env = {**web.svc.env, "SENDGRID_WEBHOOK_PUBLIC_KEY": public}
    add_subscribers(web, KARI, OLA)
    digest_id = uncertain_delivery(web, KARI, "d1.s1")
    body = json.dumps(SENDGRID_EVENTS).encode()

    response = web.client.post("/webhooks/sendgrid", data=body, headers=sendgrid_headers(private, body))
    assert response.status_code == 200 and response.get_json() == {"applied": 2}
    assert (status_of(web, KARI), status_of(web, OLA)) == ("bounced", "complained")
    assert delivery_states(web, digest_id) == {"failed": 1}


def test_sendgrid_signature_by_another_key_or_a_changed_body_is_401(web: Web) -> None:
    _, public = sendgrid_key_pair()
    other, _ = sendgrid_key_pair()
    web.svc.env = {**web.svc.env, "SENDGRID_WEBHOOK_PUBLIC_KEY": public}
    add_subscribers(web, KARI, OLA)
    body = json.dumps(SENDGRID_EVENTS).encode()
    assert (
        web.client.post("/webhooks/sendgrid", data=body, headers=sendgrid_headers(other, body)).status_code
        == 401
    )
    assert web.client.post("/webhooks/sendgrid", data=body).status_code == 401  # unsigned
    assert (status_of(web, KARI), status_of(web, OLA)) == ("active", "active")


def test_sendgrid_without_or_with_an_unreadable_key_is_503(web: Web) -> None:
    private, _ = sendgrid_key_pair()
    body = json.dumps(SENDGRID_EVENTS).encode()
    missing = web.client.post("/webhooks/sendgrid", data=body, headers=sendgrid_headers(private, body))
    assert missing.status_code == 503 and "SENDGRID_WEBHOOK_PUBLIC_KEY" in missing.get_json()["error"]
    web.svc.env = {**web.svc.env, "SENDGRID_WEBHOOK_PUBLIC_KEY": "not a key"}
    unreadable = web.client.post("/webhooks/sendgrid", data=body, headers=sendgrid_headers(private, body))
    assert unreadable.status_code == 503


# --- Postmark ------------------------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


POSTMARK_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 4323372036854775807,
    "Type": "HardBounce",
    "Email": KARI,
    "BouncedAt": datetime.now(UTC).isoformat(),
    "Description": "The server was unable to deliver your message",
    "Metadata": {"pipeline_message_id": "d1.s1"},
}


def test_postmark_basic_auth_right_applies_once(web: Web) -> None:
    add_subscribers(web, KARI)
    digest_id = uncertain_delivery(web, KARI, "d1.s1")
    auth = basic("postmark", "hook-password")
    response = web.client.post("/webhooks/postmark", json=POSTMARK_BOUNCE, headers=auth)
    assert response.status_code == 200 and response.get_json() == {"applied": 1}
    assert status_of(web, KARI) == "bounced" and delivery_states(web, digest_id) == {"failed": 1}
    again = web.client.post("/webhooks/postmark", json=POSTMARK_BOUNCE, headers=auth)
    assert again.status_code == 200 and again.get_json() == {"applied": 0}


def test_postmark_wrong_or_missing_credentials_are_401(web: Web) -> None:
    add_subscribers(web, KARI)
    wrong = web.client.post("/webhooks/postmark", json=POSTMARK_BOUNCE, headers=basic("postmark", "guess"))
    assert wrong.status_code == 401
    assert web.client.post("/webhooks/postmark", json=POSTMARK_BOUNCE).status_code == 401
    assert status_of(web, KARI) == "active"


def test_postmark_without_configured_credentials_is_503(web: Web) -> None:
    web.svc.env = {k: v for k, v in web.svc.env.items() if not k.startswith("POSTMARK_")}
    response = web.client.post("/webhooks/postmark", json=POSTMARK_BOUNCE, headers=basic("", ""))
    assert response.status_code == 503 and "POSTMARK_WEBHOOK_USER" in response.get_json()["error"]
