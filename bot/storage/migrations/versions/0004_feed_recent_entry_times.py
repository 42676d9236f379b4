"""feeds.recent_entry_times: publication times of the feed's latest entries

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00

The next check after a fetch adapts to how often the feed publishes. After a 304 (or an
unchanged body) the feed's entries are those of its last parsed body, so their times are kept on
the feed row (ISO 8601, newest first, at most 20) rather than read back from the entries table
for every unchanged feed of every cycle. NULL until the feed's next successful parse.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recent_entry_times", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("recent_entry_times")
