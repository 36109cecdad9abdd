"""Use cases of the audience: importing subscribers, a subscriber's data."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.jobs.services import Services
from pipeline.types import Subscriber

# --- subscribers ----------------------------------------------------------------------------------


@dataclass
class ImportReport:
    added: int = 0
    unchanged: int = 0
    refused: list[str] = field(default_factory=list)  # unsubscribed, bounced, complained or erased
    problems: list[str] = field(default_factory=list)  # bad rows, with their line
    confirmations_sent: int = 0  # --pending: double opt-in mails sent
    confirmation_errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "unchanged": self.unchanged,
            "refused": self.refused,
            "problems": self.problems,
            "confirmations_sent": self.confirmations_sent,
            "confirmation_errors": self.confirmation_errors,
        }


def import_subscribers(svc: Services, text: str, *, pending: bool = False) -> ImportReport:
    """Add the good rows of a CSV (active, or pending for double opt-in); report each bad row."""
    from pipeline.deliver.audience import parse_subscriber_csv

    rows, problems = parse_subscriber_csv(text, {t.id for t in svc.config.themes})
    report = ImportReport(problems=[str(p) for p in problems])
    outcomes = svc.store.subscribers.add_many(
        ({"email": r.email, "name": r.name, "language": r.language, "themes": r.themes} for r in rows),
        status="pending" if pending else "active",
        source="import",
        now=svc.clock(),
    )
    for row, outcome in zip(rows, outcomes, strict=True):
        if outcome.action == "added":
            report.added += 1
            if pending and outcome.subscriber is not None:
                _confirm(svc, outcome.subscriber, report)
        elif outcome.action == "refused":
            report.refused.append(f"line {row.line}: {row.email} unsubscribed, bounced or asked to be erased")
        else:
            report.unchanged += 1
    return report


def export_subscriber_data(svc: Services, email: str) -> dict[str, object]:
    """GDPR: everything stored about one subscriber."""
    from pipeline.errors import NotFound

    record = svc.store.subscribers.record(email)
    if record is None:
        raise NotFound(f"no subscriber {email}")
    s = record.subscriber
    return {
        "email": s.email,
        "name": s.name,
        "language": s.language,
        "themes": sorted(s.themes) if s.themes else "all",
        "status": s.status,
        "consent_at": record.consent_at.isoformat() if record.consent_at else None,
        "consent_source": record.consent_source,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "deliveries": svc.store.subscribers.delivery_history(s.id),
    }


def _confirm(svc: Services, subscriber: Subscriber, report: ImportReport) -> None:
    """Double opt-in: the confirmation mail; a failure is reported, the row stays pending."""
    from pipeline.jobs.subscribe import send_confirmation

    outcome = send_confirmation(svc, subscriber)
    if outcome.mail_error:
        report.confirmation_errors.append(f"{subscriber.email}: {outcome.mail_error}")
    else:
        report.confirmations_sent += 1
