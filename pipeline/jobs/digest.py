"""Use cases of the digest: draft it, read it back as a value, lint it, approve it, render it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from pipeline.curate.curation import member_of_source
from pipeline.curate.draft import DraftCandidate, assemble_draft, blurb
from pipeline.errors import DigestError, LintFailed
from pipeline.jobs.curate import curation_context, source_of
from pipeline.jobs.services import Services
from pipeline.render import archive_url, lint_digest, render_archive, render_digest
from pipeline.render.environment import format_day
from pipeline.store.digests import DigestRecord, EntryRecord
from pipeline.types import (
    AlsoReported,
    Digest,
    DigestEntry,
    DigestSection,
    DigestSettings,
    Finding,
    Rendered,
    Settings,
)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CADENCE = {
    "daily": timedelta(days=1),
    "weekly": timedelta(days=7),
    "fortnightly": timedelta(days=14),
    "monthly": timedelta(days=30),
}
#: The section whose entries render as the digest's events block.
EVENTS = "events"


@dataclass(frozen=True)
class DraftResult:
    id: int
    created: bool
    period_start: datetime
    period_end: datetime
    entries: int
    sections: dict[str, int]

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "created": self.created,
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "entries": self.entries,
            "sections": self.sections,
        }


def default_period_start(svc: Services, now: datetime) -> datetime:
    """From the end of the last approved or sent digest. The very first covers two cadences back: nothing
    was sent before it, and a new pipeline's first collection finds the members' recent news."""
    last = svc.store.digests.latest(statuses=("approved", "sending", "sent"))
    if last is not None:
        return last.period_end
    return now - 2 * CADENCE.get(svc.config.settings.digest.cadence, timedelta(days=7))


def build_draft(
    svc: Services, *, since: datetime | None = None, until: datetime | None = None
) -> DraftResult:
    """Assemble the period's draft, or refresh the open draft of the same period (editors' edits stay)."""
    now = svc.clock()
    start = since or default_period_start(svc, now)
    end = until or now
    if end <= start:
        raise DigestError(f"the period is empty: {start.isoformat()} is not before {end.isoformat()}")
    settings = svc.config.settings
    candidates = draft_candidates(svc, start, end)
    sections = assemble_draft(
        candidates, themes=svc.config.themes, settings=settings.digest, now=now, language=settings.language
    )
    entries = [
        EntryRecord(item_id=e.item_id, section=s.theme, position=n)
        for s in sections
        for n, e in enumerate(s.entries)
    ]
    digest_id, created = svc.store.digests.save_draft(
        period_start=start,
        period_end=end,
        language=settings.language,
        subject=subject_for(settings, end),
        entries=entries,
        now=now,
    )
    return DraftResult(
        digest_id, created, start, end, len(entries), {s.theme: len(s.entries) for s in sections}
    )


def draft_candidates(svc: Services, start: datetime, end: datetime) -> list[DraftCandidate]:
    ctx = curation_context(svc.config)
    found = svc.store.items.list(since=start, until=end)
    curations = svc.store.curations.get_many(i.id for i in found)
    decisions = svc.store.curations.decisions(curations)
    return [
        DraftCandidate(
            item=i,
            curation=curations[i.id],
            source=source_of(ctx, i.source_id),
            decisions=tuple(decisions.get(i.id, ())),
        )
        for i in found
        if i.id in curations
    ]


def send_clock(digest: DigestSettings) -> tuple[int, int]:
    """(hour, minute) of settings.digest.send_time; config validation guarantees the HH:MM form."""
    hour, minute = digest.send_time.split(":")
    return int(hour), int(minute)


def next_send_slot(digest: DigestSettings, timezone: str, now: datetime) -> datetime:
    """The next configured send time after `now`, in UTC: send_time every day for a daily cadence,
    otherwise send_time on send_day. Local wall-clock time, so a summer-time change moves nothing."""
    local = now.astimezone(ZoneInfo(timezone))
    hour, minute = send_clock(digest)
    slot = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if digest.cadence != "daily":
        slot += timedelta(days=(WEEKDAYS.index(digest.send_day.lower()) - local.weekday()) % 7)
    if slot <= local:
        slot += timedelta(days=1 if digest.cadence == "daily" else 7)
    return slot.astimezone(UTC)


def subject_for(settings: Settings, end: datetime) -> str:
    day = format_day(end, settings.language, settings.timezone)
    return settings.digest.subject.format(name=settings.branding.name, date=day)


# --- the digest as a value --------------------------------------------------------------------------


def load_digest(svc: Services, digest_id: int) -> Digest:
    """The digest with its included entries, editors' titles and blurbs, and "also reported by"."""
    record = svc.store.digests.get(digest_id)
    rows = [r for r in svc.store.digests.entries(digest_id) if r.included]
    ctx = curation_context(svc.config)
    items = {i.id: i for i in svc.store.items.list(ids=[r.item_id for r in rows])}
    curations = svc.store.curations.get_many(items)
    group_keys = {c.group_key for c in curations.values() if c.group_key}
    siblings = svc.store.curations.group_members(group_keys)
    sibling_items = {i.id: i for i in svc.store.items.list(ids={m for ids in siblings.values() for m in ids})}
    labels = {t.id: t.label_in(record.language) for t in svc.config.themes}
    by_section: dict[str, list[DigestEntry]] = {}
    for row in sorted(rows, key=lambda r: (r.section, r.position)):
        item = items.get(row.item_id)
        if item is None:
            continue
        curation = curations.get(item.id)
        source = source_of(ctx, item.source_id)
        also = []
        if curation and curation.group_key:
            seen = {source.name}
            for other_id in siblings.get(curation.group_key, ()):
                other = sibling_items.get(other_id)
                if other is None or other.id == item.id:
                    continue
                other_name = source_of(ctx, other.source_id).name
                if other_name not in seen:
                    seen.add(other_name)
                    also.append(AlsoReported(name=other_name, url=other.url))
        by_section.setdefault(row.section, []).append(
            DigestEntry(
                item_id=item.id,
                theme=row.section,
                title=row.title_override or item.title,
                url=item.url,
                blurb=row.blurb_override or blurb(item.summary_text),
                source_name=source.name,
                published=item.published,
                image_url=item.image_url,
                image_alt=row.title_override or item.title,
                also_reported=tuple(also),
                score=curation.score if curation else 0.0,
                member_id=member_of_source(source),
                trials=curation.trials if curation else (),
            )
        )
    order = list(svc.config.settings.digest.section_order) or [t.id for t in svc.config.themes]
    order += [s for s in by_section if s not in order]
    sections = tuple(
        DigestSection(theme=t, label=labels.get(t, t), entries=tuple(by_section[t]))
        for t in order
        if by_section.get(t) and t != EVENTS
    )
    return Digest(
        id=record.id,
        status=record.status,
        period_start=record.period_start,
        period_end=record.period_end,
        language="no" if record.language == "no" else "en",
        subject=record.subject,
        intro=record.intro,
        sections=sections,
        events=tuple(by_section.get(EVENTS, ())),
        created_at=record.created_at,
        approved_at=record.approved_at,
        scheduled_at=record.scheduled_at,
    )


def in_language(digest: Digest, language: str, svc: Services) -> Digest:
    """The same digest with its headings in another language (for subscribers who chose it)."""
    if language == digest.language:
        return digest
    labels = {t.id: t.label_in(language) for t in svc.config.themes}
    sections = tuple(replace(s, label=labels.get(s.theme, s.label)) for s in digest.sections)
    return replace(digest, language=language, sections=sections)  # type: ignore[arg-type]


# --- checks, approval, rendering -------------------------------------------------------------------


def lint(svc: Services, digest_id: int) -> tuple[Digest, Rendered, list[Finding]]:
    digest = load_digest(svc, digest_id)
    settings = svc.config.settings
    rendered = render_digest(digest, settings, archive_url=archive_url(digest, settings))
    return digest, rendered, lint_digest(digest, rendered, settings, svc.clock())


def errors_of(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]


def approve(svc: Services, digest_id: int, *, at: datetime | None = None, by: str = "cli") -> DigestRecord:
    """Approve a digest and schedule it: at `at`, else at the next configured send slot (send_day and
    send_time). Lint errors block approval. `send` still sends an approved digest at once when asked."""
    _, _, findings = lint(svc, digest_id)
    errors = errors_of(findings)
    if errors:
        raise LintFailed(
            f"digest {digest_id} cannot be approved: "
            + "; ".join(f"{f.code}: {f.message}" for f in errors[:5])
            + (f" (+{len(errors) - 5} more)" if len(errors) > 5 else "")
        )
    settings = svc.config.settings
    when = at or next_send_slot(settings.digest, settings.timezone, svc.clock())
    return svc.store.digests.transition(digest_id, "approved", svc.clock(), by=by, scheduled_at=when)


def render_to(svc: Services, digest_id: int, out: Path) -> list[Path]:
    """digest.html and digest.txt (with neutral personal values) and the archive pages."""
    from pipeline.render import preview

    digest = load_digest(svc, digest_id)
    settings = svc.config.settings
    rendered = render_digest(digest, settings, archive_url=archive_url(digest, settings))
    html, text = preview(rendered, settings)
    out.mkdir(parents=True, exist_ok=True)
    (out / "digest.html").write_text(html, encoding="utf-8")
    (out / "digest.txt").write_text(text, encoding="utf-8")
    published = [
        (load_digest(svc, r.id), None)
        for r in svc.store.digests.recent(statuses=("sent",))
        if r.id != digest_id
    ]
    archived = [(digest, rendered)] + [
        (d, render_digest(d, settings, archive_url=archive_url(d, settings))) for d, _ in published
    ]
    written = render_archive(archived, settings, out / "archive")
    return [out / "digest.html", out / "digest.txt", *written]


def lint_with_links(svc: Services, digest_id: int, *, check_links: bool = False) -> list[Finding]:
    """The pre-send findings; with `check_links`, every outbound link is asked whether it answers."""
    from pipeline.render import check_links as probe_links
    from pipeline.render import outbound_links

    _, rendered, findings = lint(svc, digest_id)
    if check_links:
        fetcher = svc.make_fetcher(retries=0, timeout_s=10.0)
        try:
            # our own site's links (archive, preferences) may not be published before the send
            own = svc.config.settings.public_url.rstrip("/") + "/"
            outbound = [u for u in outbound_links(rendered) if not u.startswith(own)]
            findings += probe_links(outbound, lambda url: link_status(fetcher, url))
        finally:
            fetcher.close()
    return findings


def link_status(fetcher: object, url: str) -> int | None:
    """The status a link answers with (HEAD, then GET where HEAD is refused), through the guarded
    fetcher; None when nothing answers."""
    from pipeline.collect.http import Fetcher
    from pipeline.errors import FetchError, HTTPStatusError

    assert isinstance(fetcher, Fetcher)
    status: int | None = None
    methods: tuple[Literal["HEAD", "GET"], ...] = ("HEAD", "GET")
    for method in methods:
        try:
            return fetcher.fetch(url, accept="text/html, */*;q=0.5", method=method).status
        except HTTPStatusError as exc:
            status = exc.status
            if status not in (405, 501, 403):  # servers that refuse HEAD may still answer GET
                return status
        except FetchError:
            return None
    return status
