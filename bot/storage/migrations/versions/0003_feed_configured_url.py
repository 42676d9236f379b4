"""feeds.configured_url: the URL a feed was configured or imported with

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00

A 301/308 moves a feed: its `url` follows the publisher, while `configured_url` keeps the URL the
operator wrote, so syncing the configuration recognises the moved feed instead of adding the old
URL again as a new one. NULL for rows written before this revision (their `url` is what was
configured, unless a move was recorded before; those are re-added once, as before).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("configured_url", sa.String(length=2048), nullable=True))
    op.execute("UPDATE feeds SET configured_url = url WHERE configured_url IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("configured_url")
