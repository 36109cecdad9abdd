"""Use cases of delivery: send an approved digest (resumably, never twice), test sends, scheduled sends,
provider events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from pipeline.deliver.audience import segment_key, segment_parts
from pipeline.deliver.engine import SendOptions, SendReport, send_digest, send_test
from pipeline.deliver.message import Personaliser, make_personaliser
from pipeline.deliver.providers import Provider, make_provider
from pipeline.errors import ConfigError, DigestError, LintFailed
from pipeline.jobs.digest import errors_of, in_language, lint, load_digest
from pipeline.jobs.services import Services
from pipeline.render import archive_url, render_digest
from pipeline.types import DeliveryEvent, Digest

log = logging.getLogger(__name__)

MIN_SECRET = 16


def secret_key(svc: Services) -> str:
    secret = svc.env.get("PIPELINE_SECRET_KEY", "")
    if len(secret) < MIN_SECRET:
        raise ConfigError(
            "PIPELINE_SECRET_KEY is not set (or shorter than 16 characters): unsubscribe links "
            "cannot be signed",
            fix="export PIPELINE_SECRET_KEY=<a long random value>",
        )
    return secret


def provider_for(svc: Services, name: str | None = None) -> Provider:
    chosen = name or svc.config.settings.delivery.provider
    return make_provider(chosen, svc.config.settings.delivery, svc.env)


def personaliser_factory(svc: Services, digest: Digest, secret: str) -> Callable[[str], Personaliser]:
    """segment key -> that segment's personaliser: render and inline once per segment, never per person."""
    settings = svc.config.settings

    def for_segment(key: str) -> Personaliser:
        language, themes = segment_parts(key)
        localised = in_language(digest, language, svc)
        rendered = render_digest(
            localised, settings, themes=themes, archive_url=archive_url(digest, settings)
        )
        for warning in rendered.warnings:
            log.warning("digest %s, segment %s: %s", digest.id, key, warning)
        return make_personaliser(
            rendered, secret=secret, public_url=settings.public_url, sender=settings.delivery.sender
        )

    return for_segment


def options_for(svc: Services, *, resend_uncertain: bool = False) -> SendOptions:
    d = svc.config.settings.delivery
    return SendOptions(
        batch_size=d.batch_size, rate_per_second=d.rate_per_second, resend_uncertain=resend_uncertain
    )


def send(
    svc: Services,
    digest_id: int,
    *,
    provider: str | None = None,
    resend_uncertain: bool = False,
    provider_instance: Provider | None = None,
) -> dict[str, object]:
    """Send an approved digest to every active subscriber once. Running it again after a crash continues
    with what was not sent; a sent digest is a no-op that says so."""
    secret = secret_key(svc)
    record = svc.store.digests.get(digest_id)
    if record.status == "sent" and not resend_uncertain:
        counts = svc.store.deliveries.count_states(digest_id)
        return {
            **SendReport(digest_id=digest_id, skipped=sum(counts.values())).as_dict(),
            "status": "sent",
            "note": f"digest {digest_id} was sent already; nothing to do",
        }
    if record.status not in ("approved", "sending", "sent"):
        raise DigestError(
            f"digest {digest_id} is {record.status}: only an approved digest can be sent "
            f"(run `python run.py approve {digest_id}`)"
        )
    _, _, findings = lint(svc, digest_id)
    errors = errors_of(findings)
    if errors:
        raise LintFailed(
            f"digest {digest_id} fails its pre-send checks: "
            + "; ".join(f"{f.code}: {f.message}" for f in errors[:5])
        )
    if record.status == "approved":
        svc.store.digests.transition(digest_id, "sending", svc.clock())
    digest = load_digest(svc, digest_id)
    report = send_digest(
        digest_id,
        store=svc.store.deliveries,
        provider=provider_instance or provider_for(svc, provider),
        segment_of=segment_key,
        personaliser_for=personaliser_factory(svc, digest, secret),
        now=svc.clock,
        options=options_for(svc, resend_uncertain=resend_uncertain),
    )
    status = "sending"
    if report.queued == 0 and report.stopped is None and svc.store.digests.get(digest_id).status == "sending":
        svc.store.digests.transition(digest_id, "sent", svc.clock())
        status = "sent"
    return {**report.as_dict(), "status": status}


def send_test_copies(
    svc: Services, digest_id: int, addresses: Sequence[str], *, provider: str | None = None
) -> dict[str, object]:
    """A `[TEST]` copy to a few addresses, recorded apart from real deliveries (a draft may be tested)."""
    from pipeline.deliver.audience import valid_email
    from pipeline.errors import SubscriberError

    bad = [a for a in addresses if not valid_email(a)]
    if bad or not addresses:
        raise SubscriberError(f"not email addresses: {', '.join(bad) or '(none given)'}")
    secret = secret_key(svc)
    digest = load_digest(svc, digest_id)
    personaliser = personaliser_factory(svc, digest, secret)(f"{digest.language}|*")
    report = send_test(
        digest_id,
        list(addresses),
        store=svc.store.deliveries,
        provider=provider_for(svc, provider),
        personaliser=personaliser,
        now=svc.clock,
        options=options_for(svc),
    )
    return report.as_dict()


def send_scheduled(svc: Services) -> list[dict[str, object]]:
    """Send every approved digest whose time has come (the scheduler calls this every minute)."""
    results = []
    for record in svc.store.digests.due(svc.clock()):
        try:
            results.append(send(svc, record.id))
        except (DigestError, ConfigError) as exc:
            log.error("scheduled send of digest %s failed: %s", record.id, exc)
            results.append({"digest_id": record.id, "error": str(exc)})
    return results


def apply_events(svc: Services, events: Sequence[DeliveryEvent]) -> list[str]:
    """Apply verified provider events idempotently (each event id once)."""
    out = []
    now = svc.clock()
    for event in events:
        if event.event_id and not svc.store.webhooks.first_time(event.provider, event.event_id, now):
            out.append("duplicate")
            continue
        out.append(svc.store.deliveries.apply_event(replace(event, email=event.email.strip().lower()), now))
    return out
