"""Builders for the digest tests: in-memory stories and digests, stories written into a real
database, a settable clock, and channel configuration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.config import Settings, load_config_text
from bot.digest import compose_digest
from bot.model import Digest, SourceRef, StoryFacts, StoryView
from bot.storage.database import Database
from bot.storage.models import EntryRow, FeedRow, StoryMemberRow, StoryRow

PERIOD_END = datetime(2026, 5, 14, 8, 0, tzinfo=UTC)
EVIL_TITLE = "<!channel> Free GPUs <https://evil.example|click>"


def source(outlet: str, hours_before: float = 1.0, link: str | None = "auto") -> SourceRef:
    slug = outlet.lower().replace(" ", "-")
    return SourceRef(
        outlet=outlet,
        link=f"https://{slug}.example/news/{slug}-story" if link == "auto" else link,
        title=f"{outlet} report",
        published=PERIOD_END - timedelta(hours=hours_before),
    )


def story(
    story_id: int,
    headline: str = "xAI sells all of Colossus 1's 300 MW to Anthropic",
    *,
    outlets: int = 1,
    score: float = 5.0,
    summary: str = (
        "Anthropic will buy all of the computing capacity of xAI's Colossus 1 data center. "
        "The facility has 300 megawatts of capacity. Analysts put the value in the billions."
    ),
    facts: StoryFacts | None = None,
    sources: list[SourceRef] | None = None,
    hours_old: float = 2.0,
) -> StoryView:
    return StoryView(
        story_id=story_id,
        headline=headline,
        summary=summary,
        facts=facts
        if facts is not None
        else StoryFacts(parties=["xAI", "Anthropic"], power_mw=300, places=["Memphis"]),
        sources=sources
        if sources is not None
        else [source(f"Outlet {story_id}-{n}", hours_before=hours_old + n) for n in range(outlets)],
        first_seen=PERIOD_END - timedelta(hours=hours_old + outlets),
        last_updated=PERIOD_END - timedelta(hours=hours_old),
        score=score,
        version=1,
    )


def digest(
    candidates: list[StoryView],
    *,
    previously_sent: dict[int, int] | None = None,
    max_stories: int = 15,
    min_score: float = 0.0,
    unhealthy_feeds: list[str] | None = None,
    title: str = "Compute deals",
) -> Digest:
    return compose_digest(
        channel="deals",
        title=title,
        candidates=candidates,
        previously_sent=previously_sent or {},
        period_start=PERIOD_END - timedelta(days=1),
        period_end=PERIOD_END,
        max_stories=max_stories,
        min_score=min_score,
        unhealthy_feeds=unhealthy_feeds or [],
        total_entries=240,
    )


# --- stories in a real database, for the worker's digest, outbox and Slack-update tests --------


class StoryStore:
    """Writes stories, their outlets' entries and feeds straight into a migrated database,
    as the story builder would leave them (version bumped on each new outlet or fact)."""

    def __init__(self, db: Database, now: datetime) -> None:
        self.db = db
        self.now = now
        self._serial = 0

    def _feed(self, session: Session, outlet: str) -> FeedRow:
        url = f"https://{outlet.lower().replace(' ', '-')}.example/feed.xml"
        feed = session.scalars(select(FeedRow).where(FeedRow.url == url)).one_or_none()
        if feed is None:
            feed = FeedRow(url=url, name=outlet, created_at=self.now, consecutive_failures=0)
            session.add(feed)
            session.flush()
        return feed

    def _entry(self, session: Session, story: StoryRow, outlet: str, title: str) -> None:
        self._serial += 1
        slug = f"{outlet.lower().replace(' ', '-')}-{self._serial}"
        entry = EntryRow(
            feed_id=self._feed(session, outlet).id,
            identity=slug,
            url=f"https://{outlet.lower().replace(' ', '-')}.example/news/{slug}",
            title=title,
            summary=title + ". " + story.summary,
            text="",
            categories=[],
            source_name=outlet,
            published_at=self.now - timedelta(minutes=self._serial),
            first_seen_at=self.now,
            content_hash=slug,
            score=story.score,
            relevant=True,
            processed_at=self.now,
        )
        session.add(entry)
        session.flush()
        session.add(
            StoryMemberRow(story_id=story.id, entry_id=entry.id, joined_at=self.now, similarity=1.0)
        )

    def add(
        self,
        headline: str,
        outlets: list[str],
        *,
        score: float = 5.0,
        facts: StoryFacts | None = None,
        summary: str = "The buyer takes the whole campus under a multi-year lease.",
    ) -> int:
        with self.db.session() as session:
            self._serial += 1
            story = StoryRow(
                cluster_key=f"story-{self._serial}",
                headline=headline,
                summary=summary,
                facts=(facts or StoryFacts()).to_json(),
                score=score,
                source_count=len(outlets),
                version=1,
                first_seen_at=self.now,
                last_updated_at=self.now,
                cluster_state={},
            )
            session.add(story)
            session.flush()
            for outlet in outlets:
                self._entry(session, story, outlet, headline)
            return story.id

    def add_outlet(self, story_id: int, outlet: str, *, at: datetime | None = None) -> None:
        with self.db.session() as session:
            story = session.get(StoryRow, story_id)
            assert story is not None
            self._entry(session, story, outlet, f"{outlet}: {story.headline}")
            story.source_count += 1
            story.version += 1
            story.last_updated_at = at or self.now

    def set_facts(self, story_id: int, facts: StoryFacts, *, at: datetime | None = None) -> None:
        with self.db.session() as session:
            story = session.get(StoryRow, story_id)
            assert story is not None
            story.facts = facts.to_json()
            story.version += 1
            story.last_updated_at = at or self.now

    def fail_feed(self, name: str, failures: int = 10) -> None:
        with self.db.session() as session:
            feed = self._feed(session, name)
            feed.consecutive_failures = failures
            feed.last_error = "HTTP 500"


class Clock:
    """A settable clock, and a sleep that advances it (records the waits) instead of waiting."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)


def slack_channel_toml(
    name: str,
    *,
    webhook_url: str | None = None,
    api_url: str | None = None,
    token: str = "xoxb-stand-in-token",
    slack_channel: str = "C0123456789",
    on_update: str = "thread",
    extra: str = "",
    timeout: int | None = None,
) -> str:
    """A [[channels]] table for a Slack channel (webhook, or bot token against ``api_url``);
    ``timeout`` shortens the client's (and so the wait before a post in doubt is looked up)."""
    lines = ["[[channels]]", f'name = "{name}"', 'type = "slack"', extra]
    if "threshold" not in extra:
        lines.append("threshold = 1.0")
    lines.append("[channels.slack]")
    if webhook_url is not None:
        lines.append(f'webhook_url = "{webhook_url}"')
    else:
        assert api_url is not None
        lines += [
            f'bot_token = "{token}"',
            f'channel = "{slack_channel}"',
            f'api_base_url = "{api_url}"',
            f'on_update = "{on_update}"',
        ]
    if timeout is not None:
        lines.append(f"timeout = {timeout}")
    return "\n".join(lines) + "\n"


def service_settings(db_url: str, data_dir: Path, channels: str, extra: str = "") -> Settings:
    text = f'database_url = "{db_url}"\ndata_dir = "{data_dir}"\n{extra}\n{channels}'
    return load_config_text(text, data_dir / "newsbot.toml")
