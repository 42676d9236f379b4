"""digest_stories.facts: the story's key facts when it was included

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:00:00

"Materially updated" means new outlets or new facts (an amount or MW figure became known or
changed) since the channel's last inclusion, so the facts shown are recorded with each inclusion.
Rows written before this revision have NULL facts and compare on outlets only.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("digest_stories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digest_stories", schema=None) as batch_op:
        batch_op.drop_column("facts")
