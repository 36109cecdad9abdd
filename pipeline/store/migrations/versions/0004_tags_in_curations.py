"""Tags and their evidence move into their curation's row, as JSON, with the theme ids for filtering.

A curation is read and written whole; a row per tag made a first curation of 50,000 items write
400,000 rows.

Revision ID: 0004
Revises: 0003
"""

import json
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("curations", sa.Column("tags", sa.Text, nullable=False, server_default="[]"))
    op.add_column("curations", sa.Column("themes", sa.Text, nullable=False, server_default=""))
    conn = op.get_bind()
    by_item: dict[int, list[dict[str, Any]]] = defaultdict(list)
    rows = conn.execute(sa.text("SELECT item_id, theme, score, evidence FROM tags ORDER BY item_id, score DESC"))
    for item_id, theme, score, evidence in rows:
        by_item[item_id].append({"theme": theme, "score": score, "evidence": json.loads(evidence)})
    updates = [
        {"i": item_id, "t": json.dumps(tags, ensure_ascii=False), "th": " " + " ".join(t["theme"] for t in tags) + " "}
        for item_id, tags in by_item.items()
    ]
    if updates:
        conn.execute(sa.text("UPDATE curations SET tags = :t, themes = :th WHERE item_id = :i"), updates)
    op.drop_index("ix_tags_theme", table_name="tags")
    op.drop_table("tags")


def downgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("item_id", sa.Integer, sa.ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("theme", sa.String(64), primary_key=True),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("evidence", sa.Text, nullable=False, server_default="[]"),
        sa.Column("by_editor", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_tags_theme", "tags", ["theme"])
    conn = op.get_bind()
    rows = []
    for item_id, text in conn.execute(sa.text("SELECT item_id, tags FROM curations")):
        for tag in json.loads(text):
            rows.append(
                {
                    "i": item_id,
                    "t": tag["theme"],
                    "s": tag["score"],
                    "e": json.dumps(tag["evidence"], ensure_ascii=False),
                    "b": any(e["where"] == "editor" for e in tag["evidence"]),
                }
            )
    if rows:
        conn.execute(
            sa.text("INSERT INTO tags (item_id, theme, score, evidence, by_editor) VALUES (:i, :t, :s, :e, :b)"),
            rows,
        )
    with op.batch_alter_table("curations") as batch:
        batch.drop_column("themes")
        batch.drop_column("tags")
