"""entries: drop ix_entries_feed_id, which the unique (feed_id, identity) index already covers

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 23:15:00

Every lookup by feed uses the leading column of uq_entries_feed_identity, on SQLite and on
PostgreSQL alike, so the single-column index only cost a second index write per stored entry
(50,000 of them in a cold cycle of 1,000 feeds).
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index("ix_entries_feed_id")


def downgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.create_index("ix_entries_feed_id", ["feed_id"], unique=False)
