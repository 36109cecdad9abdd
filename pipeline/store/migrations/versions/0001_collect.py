"""Sources' fetch state and items.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

from pipeline.store.schema import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_state",
        sa.Column("source_id", sa.String(64), primary_key=True),
        sa.Column("feed_url", sa.Text),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("last_attempt", UTCDateTime),
        sa.Column("last_success", UTCDateTime),
        sa.Column("last_error_kind", sa.String(40)),
        sa.Column("last_error", sa.Text),
        sa.Column("failures", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_due", UTCDateTime),
        sa.Column("warnings", sa.Text),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("guid", sa.String(2048), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("canonical_url", sa.String(2048), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary_html", sa.Text, nullable=False, server_default=""),
        sa.Column("summary_text", sa.Text, nullable=False, server_default=""),
        sa.Column("image_url", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("language", sa.String(2)),
        sa.Column("published", UTCDateTime, nullable=False),
        sa.Column("date_missing", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("first_seen", UTCDateTime, nullable=False),
        sa.Column("updated_at", UTCDateTime, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False, server_default="collected"),
        sa.UniqueConstraint("canonical_url", name="uq_items_canonical_url"),
        sa.UniqueConstraint("source_id", "guid", name="uq_items_source_guid"),
    )
    op.create_index("ix_items_source_id", "items", ["source_id"])
    op.create_index("ix_items_published", "items", ["published"])


def downgrade() -> None:
    op.drop_table("items")
    op.drop_table("source_state")
