"""Editors, subscribers, suppressions, deliveries, webhook events, member keys and submissions.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from pipeline.store.schema import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False, server_default=""),
        sa.Column("language", sa.String(2), nullable=False, server_default="en"),
        sa.Column("themes", sa.Text),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("consent_at", UTCDateTime),
        sa.Column("consent_source", sa.String(32), nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_subscribers_status", "subscribers", ["status"])
    op.create_table(
        "suppressions",
        sa.Column("email_hash", sa.String(64), primary_key=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
        sa.Column("subscriber_id", sa.Integer, sa.ForeignKey("subscribers.id", ondelete="SET NULL")),
        sa.Column("message_id", sa.String(100), nullable=False, unique=True),
        sa.Column("segment", sa.String(500), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("provider", sa.String(16)),
        sa.Column("provider_id", sa.String(200)),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.UniqueConstraint("digest_id", "subscriber_id", name="uq_deliveries_digest_subscriber"),
    )
    op.create_index("ix_deliveries_digest_state", "deliveries", ["digest_id", "state", "id"])
    op.create_table(
        "test_sends",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("message_id", sa.String(100), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("sent_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_test_sends_digest_id", "test_sends", ["digest_id"])
    op.create_table(
        "webhook_events",
        sa.Column("provider", sa.String(16), primary_key=True),
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("received_at", UTCDateTime, nullable=False),
    )
    op.create_table(
        "member_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("revoked_at", UTCDateTime),
    )
    op.create_index("ix_member_keys_member_id", "member_keys", ["member_id"])
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("member_id", sa.String(64), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary_html", sa.Text, nullable=False, server_default=""),
        sa.Column("summary_text", sa.Text, nullable=False, server_default=""),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("image_url", sa.Text),
        sa.Column("contact_name", sa.Text, nullable=False, server_default=""),
        sa.Column("contact_email", sa.String(320), nullable=False, server_default=""),
        sa.Column("themes", sa.Text, nullable=False, server_default="[]"),
        sa.Column("language", sa.String(2), nullable=False, server_default="en"),
        sa.Column("embargo_until", UTCDateTime),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="SET NULL")),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("decided_at", UTCDateTime),
        sa.Column("decided_by", sa.String(320)),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_submissions_status", "submissions", ["status"])
    op.create_index("ix_submissions_member_id", "submissions", ["member_id"])
    op.create_table(
        "scheduler_lock",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("acquired_at", UTCDateTime, nullable=False),
        sa.Column("heartbeat_at", UTCDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scheduler_lock")
    for table in (
        "test_sends",
        "submissions",
        "member_keys",
        "webhook_events",
        "deliveries",
        "suppressions",
        "subscribers",
        "users",
    ):
        op.drop_table(table)
