"""stories.signature renamed cluster_state: it holds the clusterer's whole state of a story

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 18:30:00

The column never held a signature: it holds what `StoryClusterer.export_state` writes (members,
centroid, titles, facts, ...), from which a restart rebuilds the clusterer. Renamed in place
(`ALTER TABLE ... RENAME`, SQLite 3.25+ and PostgreSQL), so every story keeps its state.

`recreate="never"`: SQLite's batch mode would otherwise copy `stories` to a new table and drop
the old one, and with foreign keys on, dropping it deletes every row that references a story
(members, events, deals) by their ON DELETE CASCADE.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stories", schema=None, recreate="never") as batch_op:
        batch_op.alter_column("signature", new_column_name="cluster_state")


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None, recreate="never") as batch_op:
        batch_op.alter_column("cluster_state", new_column_name="signature")
