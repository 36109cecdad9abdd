"""The database schema (SQLAlchemy Core). Alembic migrations under migrations/ create and upgrade it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, whatever the backend stores."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

source_state = Table(
    "source_state",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("feed_url", Text),  # discovered feed of a home-page source
    Column("etag", Text),
    Column("last_modified", Text),
    Column("last_attempt", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("last_error_kind", String(40)),
    Column("last_error", Text),
    Column("failures", Integer, nullable=False, default=0),
    Column("next_due", UTCDateTime),
    Column("warnings", Text),  # JSON list
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_id", String(64), nullable=False, index=True),
    Column("guid", String(2048), nullable=False),
    Column("url", Text, nullable=False),
    Column("canonical_url", String(2048), nullable=False),
    Column("title", Text, nullable=False),
    Column("summary_html", Text, nullable=False, default=""),
    Column("summary_text", Text, nullable=False, default=""),
    Column("image_url", Text),
    Column("author", Text),
    Column("language", String(2)),
    Column("published", UTCDateTime, nullable=False, index=True),
    Column("date_missing", Boolean, nullable=False, default=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("origin", String(16), nullable=False, default="collected"),
    UniqueConstraint("canonical_url", name="uq_items_canonical_url"),
    UniqueConstraint("source_id", "guid", name="uq_items_source_guid"),
)


# --- curation (migration 0002) ----------------------------------------------------------------------

curations = Table(
    "curations",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("language", String(2)),
    Column("noise", Text),  # the reason, or NULL
    Column("members", Text, nullable=False, default="[]"),  # JSON list of member ids
    Column("trials", Text, nullable=False, default="[]"),  # JSON list of [identifier, registry URL]
    Column("group_key", String(64), index=True),
    Column("score", Float, nullable=False, default=0.0),
    Column("primary_theme", String(64), index=True),
    Column("pinned", Boolean, nullable=False, default=False),  # editors' decisions, applied
    Column("included", Boolean, nullable=False, default=False),
    Column("curated_hash", String(64), nullable=False),  # items.content_hash when curated
    Column("curated_at", UTCDateTime, nullable=False),
    # Themes best first, as JSON [{theme, score, evidence: [{term, where}]}]: one row per item (an item
    # has a handful of tags, read and written together), with the theme ids between spaces for filters.
    Column("tags", Text, nullable=False, default="[]"),
    Column("themes", Text, nullable=False, default=""),
)

editor_decisions = Table(
    "editor_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # append-only: later decisions win
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("action", String(20), nullable=False),
    Column("value", String(200)),
    Column("editor", String(320), nullable=False, default=""),
    Column("decided_at", UTCDateTime, nullable=False),
)

digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False, index=True),
    Column("period_start", UTCDateTime, nullable=False),
    Column("period_end", UTCDateTime, nullable=False),
    Column("language", String(2), nullable=False),
    Column("subject", Text, nullable=False),
    Column("intro", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("approved_at", UTCDateTime),
    Column("approved_by", String(200)),
    Column("scheduled_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
)

digest_entries = Table(
    "digest_entries",
    metadata,
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("section", String(64), nullable=False),
    Column("position", Integer, nullable=False),
    Column("included", Boolean, nullable=False, default=True),
    Column("title_override", Text),
    Column("blurb_override", Text),
)

# --- people and delivery (migration 0003) -----------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # editor | admin
    Column("password_hash", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled", Boolean, nullable=False, default=False),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),  # normalised: trimmed, lower-case
    Column("name", Text, nullable=False, default=""),
    Column("language", String(2), nullable=False, default="en"),
    Column("themes", Text),  # JSON list of theme ids; NULL: every theme
    Column("status", String(16), nullable=False, index=True),
    Column("consent_at", UTCDateTime),
    Column("consent_source", String(32), nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

suppressions = Table(
    "suppressions",
    metadata,
    Column(
        "email_hash", String(64), primary_key=True
    ),  # sha256 of the normalised address: no plain data kept
    Column("reason", String(32), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    Column("subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="SET NULL")),
    Column("message_id", String(100), nullable=False, unique=True),
    Column("segment", String(500), nullable=False, default=""),
    # queued | submitted | sent | failed | suppressed | uncertain
    Column("state", String(16), nullable=False),
    Column("provider", String(16)),
    Column("provider_id", String(200)),
    Column("reason", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("digest_id", "subscriber_id", name="uq_deliveries_digest_subscriber"),
    Index("ix_deliveries_digest_state", "digest_id", "state", "id"),
)

test_sends = Table(
    "test_sends",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("email", String(320), nullable=False),
    Column("message_id", String(100), nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", Text),
    Column("sent_at", UTCDateTime, nullable=False),
)

webhook_events = Table(
    "webhook_events",
    metadata,
    Column("provider", String(16), primary_key=True),
    Column("event_id", String(200), primary_key=True),  # replay protection and idempotency
    Column("received_at", UTCDateTime, nullable=False),
)

member_keys = Table(
    "member_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(12), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("member_id", String(64), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("summary_html", Text, nullable=False, default=""),
    Column("summary_text", Text, nullable=False, default=""),
    Column("url", Text, nullable=False),
    Column("image_url", Text),
    Column("contact_name", Text, nullable=False, default=""),
    Column("contact_email", String(320), nullable=False, default=""),
    Column("themes", Text, nullable=False, default="[]"),
    Column("language", String(2), nullable=False, default="en"),
    Column("embargo_until", UTCDateTime),
    Column("status", String(16), nullable=False, index=True),  # pending | approved | rejected
    Column("item_id", Integer, ForeignKey("items.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("decided_at", UTCDateTime),
    Column("decided_by", String(320)),
    Column("reason", Text),
)

scheduler_lock = Table(
    "scheduler_lock",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("holder", String(200), nullable=False),  # "host:pid" of the process running the scheduler
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
)
