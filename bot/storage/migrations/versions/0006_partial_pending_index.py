"""entries: ix_entries_pending holds only the pending entries (WHERE processed_at IS NULL)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 00:40:00

The processor's queue is the only reader of this index, and it asks for `processed_at IS NULL`
alone. Most entries are done the moment they are stored (matched irrelevant while parsed), so a
full index wrote an index row for every stored entry and grew with the whole table; the partial
one holds the handful waiting for clustering and is written only for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

PENDING = sa.text("processed_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index("ix_entries_pending")
        batch_op.create_index(
            "ix_entries_pending",
            ["processed_at"],
            unique=False,
            sqlite_where=PENDING,
            postgresql_where=PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("entries", schema=None) as batch_op:
        batch_op.drop_index("ix_entries_pending")
        batch_op.create_index("ix_entries_pending", ["processed_at"], unique=False)
