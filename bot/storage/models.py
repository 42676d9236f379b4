"""SQLAlchemy 2.0 models: feeds, entries, stories, story membership, digests and deliveries.

Every schema change comes with an Alembic migration in bot/storage/migrations/versions.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from bot.model.entry import OUTLET_MAX
from bot.model.feed import (
    ETAG_MAX,
    FEED_NAME_MAX,
    FEED_TITLE_MAX,
    FEED_URL_MAX,
    LAST_MODIFIED_MAX,
)
from bot.storage.plan import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(FEED_URL_MAX), unique=True)
    # The URL as configured or imported; `url` follows 301/308 moves, this one does not, so a
    # moved feed is still recognised as the configured one (migration 0003).
    configured_url: Mapped[str | None] = mapped_column(String(FEED_URL_MAX))
    name: Mapped[str | None] = mapped_column(String(FEED_NAME_MAX))
    title: Mapped[str | None] = mapped_column(String(FEED_TITLE_MAX))  # as the feed names itself
    interval_s: Mapped[int | None] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(String(ETAG_MAX))
    last_modified: Mapped[str | None] = mapped_column(String(LAST_MODIFIED_MAX))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    last_checked_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_class: Mapped[str | None] = mapped_column(String(40))
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Publication times (ISO 8601, newest first) of the entries in the last parsed body, so a
    # 304 keeps the feed's publishing rhythm without reading its entries (migration 0004).
    recent_entry_times: Mapped[list[Any] | None] = mapped_column(JSON)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    # Where the feed came from (migration 0007): the configuration file listing it at the last
    # sync (NULL when none does) and the OPML file it was imported from. A feed neither lists
    # is removed: `removed_at` is set, it is no longer polled nor exported, and its entries
    # stay until retention deletes them.
    config_file: Mapped[str | None] = mapped_column(String(1000))
    imported_from: Mapped[str | None] = mapped_column(String(1000))
    removed_at: Mapped[datetime | None]
    # When a body was first stored (until then a poll keeps the newest items however old),
    # and when one was last stored.
    first_parsed_at: Mapped[datetime | None]
    last_parsed_at: Mapped[datetime | None]
    # What the last parsed body gave: new, updated, unchanged, too_old, duplicate, expired,
    # backfilled (see bot.storage.plan.EntryPlan.counts).
    last_poll_counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    entries: Mapped[list[EntryRow]] = relationship(back_populates="feed")


# The entries the story builder has not processed yet: a partial index holds only these.
PENDING = text("processed_at IS NULL")


class EntryRow(Base):
    __tablename__ = "entries"
    __table_args__ = (
        UniqueConstraint("feed_id", "identity", name="uq_entries_feed_identity"),
        # Only the story builder's queue reads it, and most entries are done once stored.
        # Migration 0006 gives it the same WHERE on PostgreSQL; naming `postgresql_where` here
        # would load SQLAlchemy's PostgreSQL dialect in every process that imports the models
        # (17 ms of a one-shot SQLite poll's start, issue 21), and Alembic's comparison of
        # models with a database does not read an index's WHERE either way.
        Index("ix_entries_pending", "processed_at", sqlite_where=PENDING),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Lookups by feed use the leading column of the unique (feed_id, identity) index.
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(512))
    guid: Mapped[str | None] = mapped_column(String(2048))
    url: Mapped[str | None] = mapped_column(String(2048), index=True)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(String(300))
    categories: Mapped[list[Any]] = mapped_column(default=list)
    source_name: Mapped[str | None] = mapped_column(String(OUTLET_MAX))
    published_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(String(64))
    # Relevance, set by the matcher; processed_at is NULL until matching and clustering ran,
    # so a crash between storing and processing only delays the entry.
    score: Mapped[float | None] = mapped_column(Float)
    relevant: Mapped[bool | None] = mapped_column(Boolean)
    match_hits: Mapped[list[Any] | None] = mapped_column(JSON)
    processed_at: Mapped[datetime | None]

    feed: Mapped[FeedRow] = relationship(back_populates="entries")
    membership: Mapped[StoryMemberRow | None] = relationship(back_populates="entry")


class ExpiredEntryRow(Base):
    """An entry retention deleted, remembered while its feed still lists it (migration 0007):
    the poller skips the item instead of storing it again as news."""

    __tablename__ = "expired_entries"

    feed_id: Mapped[int] = mapped_column(
        ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True
    )
    identity: Mapped[str] = mapped_column(String(512), primary_key=True)
    last_listed_at: Mapped[datetime] = mapped_column(index=True)


class StoryRow(Base):
    __tablename__ = "stories"

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_key: Mapped[str] = mapped_column(String(64), unique=True)
    headline: Mapped[str] = mapped_column(Text)
    headline_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("entries.id", ondelete="SET NULL")
    )
    summary: Mapped[str] = mapped_column(Text, default="")
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    source_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped when sources or facts change
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    last_updated_at: Mapped[datetime] = mapped_column(index=True)
    # The clusterer's whole state for this story (StoryClusterer.export_state: members, centroid,
    # titles, facts, ...), so that a restart rebuilds the clusterer from the database. Deferred:
    # only restoring reads it (`active_stories`, `stories_changed_since`), while every clustering
    # batch loads the stories it touches to write theirs; at 10,000 feeds a batch parsed some
    # 20 MB of states it was about to overwrite, and held them.
    cluster_state: Mapped[dict[str, Any]] = mapped_column(default=dict, deferred=True)

    members: Mapped[list[StoryMemberRow]] = relationship(
        back_populates="story", order_by="StoryMemberRow.joined_at"
    )


class StoryMemberRow(Base):
    __tablename__ = "story_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id", ondelete="CASCADE"), unique=True)
    joined_at: Mapped[datetime]
    similarity: Mapped[float] = mapped_column(Float, default=1.0)

    story: Mapped[StoryRow] = relationship(back_populates="members")
    entry: Mapped[EntryRow] = relationship(back_populates="membership")


class StoryEventRow(Base):
    """A story was created or gained a source: the update events digests and metrics read."""

    __tablename__ = "story_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # created | source_added
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class DigestRow(Base):
    """The outbox: a digest is stored, rendered, before any delivery attempt."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="scheduled")  # scheduled | breaking
    period_key: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    # pending | sending | sent | failed (permanent) | abandoned (channel removed) | empty
    # | unknown (a post in doubt nobody can check: left for `newsbot digests --resend`)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the rendered messages
    story_count: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    # parts already delivered, and the part in doubt (bot.worker.outbox)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]

    stories: Mapped[list[DigestStoryRow]] = relationship(back_populates="digest")
    deliveries: Mapped[list[DeliveryRow]] = relationship(
        back_populates="digest", order_by="DeliveryRow.attempt"
    )


class DigestStoryRow(Base):
    """Which story (at which version) went into which digest."""

    __tablename__ = "digest_stories"
    __table_args__ = (UniqueConstraint("digest_id", "story_id", name="uq_digest_story"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), index=True)
    story_version: Mapped[int] = mapped_column(Integer)
    source_count: Mapped[int] = mapped_column(Integer)
    message_ref: Mapped[str | None] = mapped_column(String(100))  # Slack ts, for threads/edits
    # StoryFacts.to_json() as included (revision 0002; NULL on older rows)
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    digest: Mapped[DigestRow] = relationship(back_populates="stories")


class DeliveryRow(Base):
    """One delivery attempt of a digest, successful or not."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("digest_id", "attempt", name="uq_delivery_attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    # sent | transient | permanent | ambiguous (looked up next) | unknown | started
    outcome: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    digest: Mapped[DigestRow] = relationship(back_populates="deliveries")


class DealRow(Base):
    """The deal record of a story (migration 0008): what `bot.ledger` derives from its reports,
    kept so that `newsbot deals` and weekly ledgers read it without re-reading every report.
    Re-derived when the story changes after `story_updated_at`; each change is a revision."""

    __tablename__ = "deals"

    id: Mapped[int] = mapped_column(primary_key=True)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"), unique=True)
    # Whether the story reads as a deal at all (parties and a kind or a figure); stories that
    # do not keep a row too, so that they are not derived again until they change.
    is_deal: Mapped[bool] = mapped_column(Boolean, default=True)
    kind: Mapped[str] = mapped_column(String(40))
    first_reported_at: Mapped[datetime | None] = mapped_column(index=True)
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)  # DealRecord.to_json()
    revision: Mapped[int] = mapped_column(Integer, default=1)
    # The story's last_updated_at and member count the record was derived at: a later time or
    # another count makes it stale (two polls can share a clock reading).
    story_updated_at: Mapped[datetime]
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    # The version of the derivation that made the record (bot.ledger.DERIVATION_VERSION): a
    # release that reads deals differently re-derives every record.
    derived_by: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime]

    revisions: Mapped[list[DealRevisionRow]] = relationship(
        back_populates="deal", order_by="DealRevisionRow.revision"
    )


class DealRevisionRow(Base):
    """One state of a deal record, kept when the record changed (its history)."""

    __tablename__ = "deal_revisions"
    __table_args__ = (UniqueConstraint("deal_id", "revision", name="uq_deal_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source_count: Mapped[int] = mapped_column(Integer, default=0)
    recorded_at: Mapped[datetime]

    deal: Mapped[DealRow] = relationship(back_populates="revisions")
