"""Curation results, editors' decisions, digests and their entries.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from pipeline.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "curations",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("language", sa.String(2)),
        sa.Column("noise", sa.Text),
        sa.Column("members", sa.Text, nullable=False, server_default="[]"),
        sa.Column("trials", sa.Text, nullable=False, server_default="[]"),
        sa.Column("group_key", sa.String(64)),
        sa.Column("score", sa.Float, nullable=False, server_default="0"),
        sa.Column("primary_theme", sa.String(64)),
        sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("included", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("curated_hash", sa.String(64), nullable=False),
        sa.Column("curated_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_curations_group_key", "curations", ["group_key"])
    op.create_index("ix_curations_primary_theme", "curations", ["primary_theme"])
    op.create_table(
        "tags",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("theme", sa.String(64), primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False, server_default="[]"),
        sa.Column("by_editor", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_tags_theme", "tags", ["theme"])
    op.create_table(
        "editor_decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("value", sa.String(200)),
        sa.Column("editor", sa.String(320), nullable=False, server_default=""),
        sa.Column("decided_at", UTCDateTime, nullable=False),
    )
    op.create_index("ix_editor_decisions_item_id", "editor_decisions", ["item_id"])
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("period_start", UTCDateTime, nullable=False),
        sa.Column("period_end", UTCDateTime, nullable=False),
        sa.Column("language", sa.String(2), nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("intro", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("approved_at", UTCDateTime),
        sa.Column("approved_by", sa.String(200)),
        sa.Column("scheduled_at", UTCDateTime),
        sa.Column("sent_at", UTCDateTime),
    )
    op.create_index("ix_digests_status", "digests", ["status"])
    op.create_table(
        "digest_entries",
        sa.Column("digest_id", sa.Integer, sa.ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("section", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("included", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("title_override", sa.Text),
        sa.Column("blurb_override", sa.Text),
    )


def downgrade() -> None:
    for table in ("digest_entries", "digests", "editor_decisions", "tags", "curations"):
        op.drop_table(table)
