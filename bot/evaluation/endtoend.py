"""Stories from labelled items the way the daemon makes them: served as feeds, polled, read back.

`newsbot eval` and the batch-replay tests use these parts:

* :class:`LoopbackFeeds` serves items as one RSS feed per outlet (:mod:`bot.evaluation.feeds`)
  from the demo's feed server on 127.0.0.1, on an ephemeral port; :meth:`LoopbackFeeds.publish`
  changes which items the feeds carry, so successive polls can see a feed grow.
* :func:`poll_settings` points a configuration at those feeds and at a database, keeping its
  rules, thresholds and clustering settings.
* :func:`poll` runs one cycle exactly as `newsbot poll --all` does (fetch, parse, store, match,
  cluster).
* :func:`read_placement` reads the stories back from storage (what `newsbot stories` shows) and
  finds each item among their members by its GUID (else its link). An item in no story was
  either judged not relevant or not placed (not stored, or relevant but never clustered).

Time: the poll runs "as of" a moment just after the latest report (:func:`as_of`), as if the
daemon had polled the outlets then, through the pipeline's own injectable clock; and the
retention window is widened to reach the earliest report (:func:`retention_days`). Labelled sets
span years: a poll at today's date would drop every report older than the retention window.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Self

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.clustering.item import ClusterItem
from bot.config import FeedSettings, Settings
from bot.daemon.pipeline import Pipeline, build_pipeline
from bot.demo.server import FeedServer
from bot.evaluation.feeds import OutletFeed, outlet_feeds, render_rss
from bot.evaluation.items import LabelledItem
from bot.evaluation.scores import (
    Disagreement,
    Scores,
    bcubed,
    mixed_stories,
    pairwise,
    split_stories,
)
from bot.matcher import RuleSet
from bot.reader.processor import canonical_url
from bot.storage.database import Database, create_database, drop_database
from bot.storage.entries import entry_verdicts
from bot.storage.stories import stories_updated_since
from bot.worker.poll import PollStats

# The rule set of `--all-relevant`: no rule and a threshold of zero, so every entry scores 0 and
# is relevant, as `newsbot cluster` treats its input.
ALL_RELEVANT = RuleSet([], threshold=0.0, source="<every item relevant>")
# How long after the latest report the poll runs.
POLL_DELAY = timedelta(hours=1)


class EvaluationError(RuntimeError):
    """The evaluation could not run (no database, feeds that could not be served or read)."""


def as_of(items: Iterable[ClusterItem], *, delay: timedelta = POLL_DELAY) -> datetime:
    """When a poll of `items` runs: `delay` after the latest report, or now if none is dated."""
    dated = [item.published for item in items if item.published is not None]
    return max(dated) + delay if dated else datetime.now(UTC)


def retention_days(items: Iterable[ClusterItem], now: datetime) -> int:
    """A retention window (days) that keeps every dated item of `items` at `now`."""
    dated = [item.published for item in items if item.published is not None]
    oldest = min(dated, default=now)
    return max(1, math.ceil((now - oldest) / timedelta(days=1)) + 1)


class LoopbackFeeds:
    """Items served as one RSS feed per outlet on 127.0.0.1, in the demo's feed server.

    The outlets, and so the feeds, are fixed by the items given at construction; every feed
    starts empty (a valid feed without items) until :meth:`publish`.
    """

    def __init__(self, items: Iterable[ClusterItem]) -> None:
        self.feeds: list[OutletFeed] = outlet_feeds(items)
        self.server = FeedServer()

    def __enter__(self) -> Self:
        self.server.start()
        self.publish([])
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.server.stop()

    def publish(self, items: Iterable[ClusterItem]) -> None:
        """Make each outlet's feed carry exactly its items among `items` (newest first)."""
        chosen = {item.key for item in items}
        for feed in self.feeds:
            carried = [item for item in feed.items if item.key in chosen]
            self.server.set(feed.path, render_rss(feed.outlet, carried))

    def feed_settings(self) -> list[FeedSettings]:
        """The feeds as configuration entries, named after their outlets."""
        return [FeedSettings(url=self.server.url(f.path), name=f.outlet) for f in self.feeds]


def poll_settings(
    base: Settings,
    feeds: Sequence[FeedSettings],
    *,
    database_url: str,
    data_dir: Path,
    retention_days: int | None = None,
    rules: Path | None = None,
) -> Settings:
    """`base` polling only `feeds` into `database_url`, with no channels (nothing is sent).

    Rules, threshold, fetch and clustering settings are kept; `rules` replaces the rule file and
    `retention_days` the retention window. Fetching from private networks is allowed: the
    evaluation's own feed server is on loopback, which the fetch policy refuses by default."""
    daemon = base.daemon
    if retention_days is not None:
        daemon = daemon.model_copy(update={"retention_days": retention_days})
    update: dict[str, object] = {
        "feeds": list(feeds),
        "channels": [],
        "database_url": database_url,
        "data_dir": data_dir,
        "daemon": daemon,
        "fetch": base.fetch.model_copy(update={"allow_private_networks": True}),
    }
    if rules is not None:
        update["rules"] = rules
    return base.model_copy(update=update)


def poll(pipeline: Pipeline) -> PollStats:
    """One poll cycle of every feed, as `newsbot poll --all` runs it."""
    return asyncio.run(pipeline.poller.poll(force=True))


@dataclass(frozen=True)
class Placement:
    """Where a poll put each item: `stories` maps the items that reached a story to its id;
    the others were judged `not_relevant` or were `not_placed` (not stored, or relevant but in
    no story)."""

    stories: dict[str, str]
    not_relevant: list[str] = field(default_factory=list)
    not_placed: list[str] = field(default_factory=list)

    def partition(self, items: Iterable[str]) -> dict[str, str]:
        """Item id -> story id for `items`; an item in no story is a story of its own."""
        return {key: self.stories.get(key, f"alone:{key}") for key in items}

    @property
    def story_count(self) -> int:
        return len(set(self.stories.values()))


def read_placement(db: Database, items: Sequence[ClusterItem]) -> Placement:
    """The stories stored in `db`, as `newsbot stories` reads them, mapped back onto `items` by
    each entry's GUID (the item's id), else by its link."""
    by_guid = {item.key: item.key for item in items}
    by_link: dict[str, str] = {}
    for item in items:
        link = canonical_url(item.url) if item.url else None
        if link:
            by_link.setdefault(link, item.key)

    def item_of(guid: str | None, link: str | None) -> str | None:
        if guid is not None and guid in by_guid:
            return by_guid[guid]
        return by_link.get(link) if link else None

    story_of: dict[str, str] = {}
    rejected: set[str] = set()
    with db.session() as session:
        for story in stories_updated_since(session, None, None):
            for member in story.members:
                key = item_of(member.entry.guid, member.entry.url)
                if key is not None:
                    story_of[key] = str(story.id)
        for verdict in entry_verdicts(session):
            key = item_of(verdict.guid, verdict.link)
            if key is not None and verdict.relevant is False:
                rejected.add(key)
    not_relevant = [i.key for i in items if i.key not in story_of and i.key in rejected]
    not_placed = [i.key for i in items if i.key not in story_of and i.key not in rejected]
    return Placement(story_of, not_relevant, not_placed)


@contextlib.contextmanager
def fresh_database(server_url: str | None, folder: Path) -> Iterator[str]:
    """The URL of an empty database for one evaluation, removed afterwards.

    None: an SQLite file in `folder`. A PostgreSQL URL: a database created on that server for
    the run (its user needs the CREATEDB privilege) and dropped after it."""
    if server_url is None:
        yield f"sqlite:///{folder / 'eval.db'}"
        return
    try:
        url = make_url(server_url)
    except Exception as exc:  # sqlalchemy raises ArgumentError and ValueError subclasses
        raise EvaluationError(f"not a database URL: {server_url!r} ({exc})") from None
    if url.get_backend_name() != "postgresql":
        raise EvaluationError(
            f"--database-url expects a PostgreSQL URL, got a {url.get_backend_name()} one "
            "(the default is a temporary SQLite database)"
        )
    name = f"newsbot_eval_{uuid.uuid4().hex[:12]}"
    shown = url.render_as_string(hide_password=True)
    try:
        admin = create_database(url, name)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise EvaluationError(f"cannot create a temporary database on {shown}: {reason}") from None
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(admin, name)


@dataclass(frozen=True)
class EndToEndResult:
    """The scores of one end-to-end run and what they were computed from."""

    gold: dict[str, str]
    predicted: dict[str, str]
    placement: Placement
    poll_summary: str
    feeds: int
    failed_feeds: int  # feeds the poll could not fetch or parse
    database: str  # the backend: sqlite or postgresql
    rules: str  # the rule file, or what stood in for it
    bcubed: Scores
    pairwise: Scores
    split: list[Disagreement]
    mixed: list[Disagreement]

    @property
    def predicted_stories(self) -> int:
        return len(set(self.predicted.values()))

    def summary(self) -> dict[str, object]:
        """The figures, as `newsbot eval --json` prints them."""
        return {
            "items": len(self.gold),
            "gold_stories": len(set(self.gold.values())),
            "predicted_stories": self.predicted_stories,
            "stories": self.placement.story_count,
            "not_relevant": len(self.placement.not_relevant),
            "not_placed": len(self.placement.not_placed),
            "bcubed_precision": round(self.bcubed.precision, 4),
            "bcubed_recall": round(self.bcubed.recall, 4),
            "bcubed_f1": round(self.bcubed.f1, 4),
            "pairwise_precision": round(self.pairwise.precision, 4),
            "pairwise_recall": round(self.pairwise.recall, 4),
            "pairwise_f1": round(self.pairwise.f1, 4),
            "feeds": self.feeds,
            "failed_feeds": self.failed_feeds,
            "database": self.database,
            "rules": self.rules,
            "poll": self.poll_summary,
        }


def evaluate_end_to_end(
    labelled: Sequence[LabelledItem],
    base: Settings,
    *,
    rules: Path | None = None,
    all_relevant: bool = False,
    database_url: str | None = None,
    on_poll: Callable[[PollStats], None] | None = None,
) -> EndToEndResult:
    """Serve `labelled` as feeds, poll them once into a fresh database with `base`'s settings
    (`rules` replacing its rule file; `all_relevant` keeping every item), and score the stories
    read back against the gold ones."""
    items = [entry.item for entry in labelled]
    gold = {entry.item.key: entry.story for entry in labelled}
    now = as_of(items)
    with (
        tempfile.TemporaryDirectory(prefix="newsbot-eval-") as folder,
        fresh_database(database_url, Path(folder)) as url,
        LoopbackFeeds(items) as served,
    ):
        served.publish(items)
        settings = poll_settings(
            base.model_copy(update={"threshold": None}) if all_relevant else base,
            served.feed_settings(),
            database_url=url,
            data_dir=Path(folder),
            retention_days=retention_days(items, now),
            rules=rules,
        )
        pipeline = build_pipeline(
            settings, clock=lambda: now, rules=ALL_RELEVANT if all_relevant else None
        )
        try:
            report = poll(pipeline)
            if on_poll is not None:
                on_poll(report)
            placement = read_placement(pipeline.db, items)
        finally:
            pipeline.db.dispose()
    predicted = placement.partition(gold)
    return EndToEndResult(
        gold=gold,
        predicted=predicted,
        placement=placement,
        poll_summary=report.summary(),
        feeds=len(served.feeds),
        failed_feeds=report.outcome_counts["error"],
        database=make_url(url).get_backend_name(),
        rules=ALL_RELEVANT.source if all_relevant else str(settings.rules),
        bcubed=bcubed(gold, predicted),
        pairwise=pairwise(gold, predicted),
        split=split_stories(gold, predicted),
        mixed=mixed_stories(gold, predicted),
    )
