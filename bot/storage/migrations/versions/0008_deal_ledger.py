"""deals and deal_revisions: the deal ledger's records and their history

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:00:00

One row per story in `deals`: the deal record `bot.ledger` derives from the story's reports
(JSON), its kind and first report time for filtering, whether the story reads as a deal, and
the story's `last_updated_at` and member count it was derived at (a later time or another
count makes it stale), and the version of the derivation that made it (`derived_by`: a release
that reads deals differently re-derives them). Every change of a
record is also kept in `deal_revisions`, numbered from 1, with the story's outlet count then.
Existing stories get their records on the next poll or `newsbot deals`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "story_id",
            sa.Integer(),
            sa.ForeignKey("stories.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("is_deal", sa.Boolean(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("first_reported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("story_updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("member_count", sa.Integer(), nullable=False),
        sa.Column("derived_by", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("story_id"),
    )
    op.create_index("ix_deals_first_reported_at", "deals", ["first_reported_at"])
    op.create_table(
        "deal_revisions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "deal_id",
            sa.Integer(),
            sa.ForeignKey("deals.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("source_count", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("deal_id", "revision", name="uq_deal_revision"),
    )


def downgrade() -> None:
    op.drop_table("deal_revisions")
    op.drop_index("ix_deals_first_reported_at", table_name="deals")
    op.drop_table("deals")
