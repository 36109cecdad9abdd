"""Frozen values that cross stages. Never ORM rows or loose dicts.

Names say which seam a value crosses: `Fetched` is what the fetcher hands a parser, `ParsedItem` what a
parser found, `StoredItem` what storage hands curation, `Digest` what drafting hands rendering.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

SourceKind = Literal["feed", "page", "home"]
Language = Literal["en", "no"]

# --- configuration values ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Selectors:
    """CSS selectors that read a listing page. `item` finds each entry; the others search inside it."""

    item: str
    title: str
    link: str = "a"
    date: str | None = None
    summary: str | None = None
    image: str | None = None


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    kind: SourceKind
    url: str
    member: bool = False
    member_id: str | None = None  # the member organisation this source speaks for (defaults to id)
    language: Language | None = None
    selectors: Selectors | None = None
    themes: tuple[str, ...] = ()  # default themes of everything it publishes (an EU project's page)
    weight: float = 1.0
    enabled: bool = True
    aliases: tuple[str, ...] = ()  # other names the organisation goes by in text
    fetch_articles: bool = True  # pages: read each new article once for OpenGraph / JSON-LD
    interval_minutes: int = 60


@dataclass(frozen=True)
class Member:
    """A member organisation, with the names it goes by in text (for linking items to members)."""

    id: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ThemeTerms:
    en: tuple[str, ...] = ()
    no: tuple[str, ...] = ()


@dataclass(frozen=True)
class Theme:
    id: str
    label: str
    label_no: str
    terms: ThemeTerms
    exclude: ThemeTerms = ThemeTerms()
    weight: float = 1.0

    def label_in(self, language: str) -> str:
        """The heading for readers of `language` (the English label where no Norwegian one is given)."""
        return self.label_no if language == "no" and self.label_no else self.label


@dataclass(frozen=True)
class HttpSettings:
    workers: int = 16
    per_host: int = 2
    timeout_s: float = 20.0  # total deadline of one fetch, redirects and body included
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    retries: int = 2
    backoff_s: float = 0.5
    max_retry_after_s: float = 30.0
    allow_private: tuple[str, ...] = ()  # "host:port" pairs that may be reached although private
    user_agent: str = "ClusterNewsBot/0.1"
    contact_url: str = ""
    respect_robots: bool = True


@dataclass(frozen=True)
class DigestSettings:
    cadence: str = "weekly"
    send_day: str = "thursday"
    send_time: str = "09:00"
    max_per_section: int = 6
    max_per_member: int = 3
    section_order: tuple[str, ...] = ()
    recency_half_life_days: float = 7.0
    subject: str = "{name} news digest, {date}"


@dataclass(frozen=True)
class Branding:
    name: str = "Oslo Cancer Cluster"
    logo_url: str = ""
    primary_colour: str = "#0b4f6c"
    accent_colour: str = "#e4572e"
    postal_address: str = "Oslo Cancer Cluster, Ullernchausseen 64, 0379 Oslo, Norway"


@dataclass(frozen=True)
class ProviderSettings:
    """Non-secret settings of one delivery provider, as written in sources.yaml."""

    name: str
    options: tuple[tuple[str, str], ...] = ()

    def get(self, key: str, default: str = "") -> str:
        return dict(self.options).get(key, default)


@dataclass(frozen=True)
class DeliverySettings:
    provider: str = "outbox"
    sender: str = "Cluster News <news@example.org>"
    reply_to: str = ""
    outbox_dir: str = "var/outbox"
    batch_size: int = 500
    rate_per_second: float = 0.0  # 0: no limit
    providers: tuple[ProviderSettings, ...] = ()
    utm: bool = False
    max_html_bytes: int = 102_000
    over_budget: Literal["drop", "fail"] = "drop"


@dataclass(frozen=True)
class Settings:
    timezone: str = "Europe/Oslo"
    public_url: str = "https://news.example.org"
    language: Language = "en"
    http: HttpSettings = HttpSettings()
    digest: DigestSettings = DigestSettings()
    delivery: DeliverySettings = DeliverySettings()
    branding: Branding = Branding()


@dataclass(frozen=True)
class Config:
    path: str
    settings: Settings
    sources: tuple[Source, ...]
    themes: tuple[Theme, ...]
    noise: Mapping[str, Any] = field(default_factory=dict)  # off-topic rules, read by curate/noise.py
    members: tuple[Member, ...] = ()  # member organisations: those with a source and those listed alone

    def source(self, source_id: str) -> Source:
        for s in self.sources:
            if s.id == source_id:
                return s
        raise KeyError(source_id)


# --- collection --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CacheInfo:
    """Validators from the last successful fetch, sent back as a conditional GET."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Fetched:
    """What the fetcher hands a parser: the body and how to read it, or "not modified"."""

    url: str  # the final URL, after redirects
    status: int
    content: bytes
    content_type: str | None
    cache: CacheInfo
    not_modified: bool = False
    encoding: str | None = None  # charset from the Content-Type header


@dataclass(frozen=True)
class ParsedItem:
    """One entry a feed or listing page said, normalised and sanitised, before storage."""

    guid: str
    url: str
    canonical_url: str
    title: str
    summary_html: str
    summary_text: str
    published: datetime  # UTC
    date_missing: bool = False  # no date in the source: `published` is the collection time
    image_url: str | None = None
    author: str | None = None
    language: Language | None = None
    needs_article: bool = False  # a listing entry whose article page may enrich it


@dataclass(frozen=True)
class ParsedFeed:
    """What a parser found in one document."""

    title: str | None
    link: str | None
    language: Language | None
    items: tuple[ParsedItem, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class ArticleMeta:
    """OpenGraph and JSON-LD metadata read from one article page."""

    title: str | None = None
    summary: str | None = None
    image_url: str | None = None
    published: datetime | None = None
    author: str | None = None
    language: Language | None = None


@dataclass(frozen=True)
class SourceState:
    """A source's fetch health, as storage hands it to the collector."""

    source_id: str
    feed_url: str | None = None  # discovered feed URL for home-page sources
    cache: CacheInfo = CacheInfo()
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    last_error_kind: str | None = None
    last_error: str | None = None
    failures: int = 0
    next_due: datetime | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class SourceResult:
    """The outcome of collecting one source: expected failures are values, not exceptions."""

    source_id: str
    ok: bool
    not_modified: bool = False
    items: tuple[ParsedItem, ...] = ()
    new_items: int = 0
    updated_items: int = 0
    error_kind: str | None = None
    error: str | None = None
    warnings: tuple[str, ...] = ()
    cache: CacheInfo = CacheInfo()
    feed_url: str | None = None
    retry_after: float | None = None  # seconds the server asked us to wait (429/503 Retry-After)


@dataclass(frozen=True)
class StoredItem:
    """An item as storage hands it to curation and drafting."""

    id: int
    source_id: str
    guid: str
    url: str
    canonical_url: str
    title: str
    summary_html: str
    summary_text: str
    published: datetime
    first_seen: datetime
    date_missing: bool = False
    image_url: str | None = None
    author: str | None = None
    language: Language | None = None
    origin: Literal["collected", "submitted"] = "collected"
    content_hash: str = ""  # changes when the title, summary, link or image change: curation reruns then


# --- curation -----------------------------------------------------------------------------------------


# Evidence and Tag are named tuples, not dataclasses: curation makes several of each per item, hundreds of
# thousands in a large batch, and a tuple is built several times faster than a frozen dataclass.
class Evidence(NamedTuple):
    term: str
    where: Literal["title", "summary", "source", "pattern", "editor"]


class Tag(NamedTuple):
    theme: str
    score: float
    evidence: tuple[Evidence, ...]


@dataclass(frozen=True)
class Curation:
    """What curation decided for one item."""

    item_id: int
    language: Language | None
    tags: tuple[Tag, ...]
    noise: str | None = None  # the reason, when the item is off-topic
    members: tuple[str, ...] = ()
    group_key: str | None = None
    score: float = 0.0
    pinned: bool = False  # an editor pinned it: ranked first, never dropped by the per-member cap
    included: bool = False  # an editor included it in drafts although it is noise or under embargo
    trials: tuple[tuple[str, str], ...] = ()  # (trial identifier, public registry URL) found in the item


@dataclass(frozen=True)
class NoiseRule:
    """One off-topic rule from sources.yaml `noise:`; `reason` is what editors see.

    The rule fires when a term matches (in the title only, when `where` is "title"), or, when `require`
    has terms, when none of them appears anywhere (an item with no oncology or health vocabulary at all).
    """

    id: str
    reason: str
    terms: ThemeTerms = ThemeTerms()
    require: ThemeTerms = ThemeTerms()
    where: Literal["any", "title"] = "any"


EditorAction = Literal[
    "add_theme", "remove_theme", "mark_noise", "unmark_noise", "pin", "unpin", "merge", "split", "include"
]


@dataclass(frozen=True)
class EditorDecision:
    """An editor's decision about one item, stored as such and applied after every (re-)curation.

    `value` is the theme id (add_theme, remove_theme), the reason (mark_noise) or the group key to join
    (merge); the other actions take none. Later decisions win over earlier ones for the same item.
    """

    item_id: int
    action: EditorAction
    value: str | None = None
    editor: str = ""
    at: datetime | None = None


# --- digests -----------------------------------------------------------------------------------------

DigestStatus = Literal["draft", "approved", "sending", "sent", "cancelled"]


@dataclass(frozen=True)
class AlsoReported:
    name: str
    url: str


@dataclass(frozen=True)
class DigestEntry:
    item_id: int
    theme: str
    title: str
    url: str
    blurb: str
    source_name: str
    published: datetime
    image_url: str | None = None
    image_alt: str = ""
    also_reported: tuple[AlsoReported, ...] = ()
    score: float = 0.0
    member_id: str | None = None
    embargo_until: datetime | None = None
    trials: tuple[tuple[str, str], ...] = ()  # (trial identifier, public registry URL) named in the item


@dataclass(frozen=True)
class DigestSection:
    theme: str
    label: str
    entries: tuple[DigestEntry, ...]


@dataclass(frozen=True)
class Digest:
    id: int
    status: DigestStatus
    period_start: datetime
    period_end: datetime
    language: Language
    subject: str
    intro: str
    sections: tuple[DigestSection, ...]
    submissions: tuple[DigestEntry, ...] = ()
    events: tuple[DigestEntry, ...] = ()
    created_at: datetime | None = None
    approved_at: datetime | None = None
    scheduled_at: datetime | None = None

    def all_entries(self) -> tuple[DigestEntry, ...]:
        out: list[DigestEntry] = []
        for s in self.sections:
            out.extend(s.entries)
        return (*out, *self.submissions, *self.events)


# --- subscribers and delivery -----------------------------------------------------------------------

SubscriberStatus = Literal["pending", "active", "unsubscribed", "bounced", "complained"]


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    name: str = ""
    language: Language = "en"
    themes: frozenset[str] | None = None  # None: every theme
    status: SubscriberStatus = "active"


@dataclass(frozen=True)
class Rendered:
    """One rendered digest (or one segment of it), inlined once, with tokens for personal values."""

    subject: str
    html: str
    text: str
    warnings: tuple[str, ...] = ()
    dropped_item_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class OutgoingMessage:
    """One personalised message, ready for a provider."""

    message_id: str  # ours, echoed back by providers in events
    to: str
    subject: str
    html: str
    text: str
    headers: tuple[tuple[str, str], ...] = ()
    variables: tuple[tuple[str, str], ...] = field(default=())


@dataclass(frozen=True)
class RecipientResult:
    message_id: str
    to: str
    status: Literal["sent", "failed", "uncertain"]
    provider_id: str | None = None
    reason: str | None = None


# --- delivery bookkeeping (deliver engine <-> store) -------------------------------------------------

DeliveryState = Literal["queued", "submitted", "sent", "failed", "suppressed", "uncertain"]


@dataclass(frozen=True)
class NewDelivery:
    """A delivery row the engine asks storage to create; (digest, subscriber) is unique."""

    subscriber_id: int
    message_id: str  # ours, echoed back by providers in events
    segment: str  # the subscriber's segment key (their set of themes)
    state: DeliveryState  # "queued", or "suppressed" for unsubscribed/bounced/complained subscribers
    reason: str | None = None


@dataclass(frozen=True)
class Delivery:
    """A delivery row as storage hands it to the engine, joined with its subscriber as they are now."""

    id: int
    digest_id: int
    subscriber: Subscriber
    message_id: str
    segment: str
    state: DeliveryState
    provider_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class DeliveryChange:
    """One state change the engine asks storage to apply, only if the row is still in `from_state`."""

    delivery_id: int
    from_state: DeliveryState
    to_state: DeliveryState
    provider_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class DeliveryEvent:
    """A provider's webhook event, verified and normalised."""

    provider: str
    kind: Literal["bounce", "complaint", "unsubscribe", "delivered"]
    email: str
    message_id: str | None  # ours, when the provider echoed it back
    at: datetime
    permanent: bool = False  # bounces: a hard bounce suppresses the subscriber
    reason: str = ""
    event_id: str = ""  # the provider's id of the event, for idempotent application


# --- pre-send checks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One pre-send check's result: errors block approval and sending, warnings do not."""

    level: Literal["error", "warning"]
    code: str  # stable, machine-readable: "size_budget", "bad_link", "embargo", ...
    message: str  # what is wrong and, where there is one, the fix
    where: str = ""  # "item 12 'Title'", "section immuno-oncology", "html", "text", a URL
