"""feeds: where a feed came from, its removal, its first parse and its last poll's counts;
expired_entries: the identities of entries retention deleted

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:00:00

The configuration is the source of truth for the feeds it lists: `config_file` names the file
that listed a feed at the last sync (NULL when none does), `imported_from` the OPML file it was
imported from, and `removed_at` when it stopped being polled (dropped from the configuration or
by `newsbot feeds remove`); its entries stay until retention deletes them.

`first_parsed_at` is when a body of the feed was first stored: until then a poll keeps the
feed's newest items even when they are older than the retention window. `last_parsed_at` is
when one was last stored. Feeds that already have
entries count as parsed; feeds without any (those whose items were all older than the window)
get their newest items on their next poll.

`last_poll_counts` holds what the last parsed body gave: entries new, updated, unchanged, and
items skipped (too old, listed twice, expired).

`expired_entries` remembers the (feed, identity) of every entry housekeeping deleted, for as
long as the feed keeps listing it (`last_listed_at`), so that an item the feed still lists is
not stored again as news (an undated item is stored with the time it was first seen, and would
otherwise come back).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("config_file", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("imported_from", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("first_parsed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_parsed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_poll_counts", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE feeds SET first_parsed_at = COALESCE(last_success_at, created_at) "
        "WHERE EXISTS (SELECT 1 FROM entries WHERE entries.feed_id = feeds.id)"
    )
    op.create_table(
        "expired_entries",
        sa.Column(
            "feed_id",
            sa.Integer(),
            sa.ForeignKey("feeds.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("identity", sa.String(length=512), primary_key=True),
        sa.Column("last_listed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_expired_entries_last_listed_at", "expired_entries", ["last_listed_at"])


def downgrade() -> None:
    op.drop_index("ix_expired_entries_last_listed_at", table_name="expired_entries")
    op.drop_table("expired_entries")
    with op.batch_alter_table("feeds", schema=None) as batch_op:
        batch_op.drop_column("last_poll_counts")
        batch_op.drop_column("last_parsed_at")
        batch_op.drop_column("first_parsed_at")
        batch_op.drop_column("removed_at")
        batch_op.drop_column("imported_from")
        batch_op.drop_column("config_file")
