"""`newsbot cluster`: place labelled or unlabelled items into stories, offline.

Reads items (JSON lines: `id`, `title`, `summary`, optional `text`, `published`, `source`,
`url`; see `bot.evaluation.items`), stores them as entries of one feed in a temporary SQLite
database and runs them through the daemon's own processing path
(`bot.worker.process.StoryBuilder`: same-URL identity, near-duplicates, events, merges of
story fragments, story rows), in published-time order and with the configuration's clustering
settings. Every item counts as relevant: the command clusters what it is given, relevance is
`newsbot match`'s job. Writes one `{"id", "story_id"}` line per item in input order; the story
id is the story's cluster key.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from bot.cli.common import EXIT_CONFIG, app, fail
from bot.cli.output import require_folder_of, writing
from bot.clustering.config import ClusterConfig
from bot.clustering.item import ClusterItem
from bot.clustering.semantic import SemanticUnavailable, default_embedder
from bot.evaluation.items import InputError, read_items
from bot.matcher import RuleSet
from bot.model import Entry
from bot.storage.database import Database, upgrade_schema
from bot.storage.entries import store_entries
from bot.storage.models import FeedRow
from bot.storage.stories import story_key_by_identity
from bot.text.plural import plural
from bot.worker.process import StoryBuilder

# The feed the input items are stored under (the temporary database has no other).
INPUT_FEED_URL = "file:newsbot-cluster-input"


def publication_order(items: Iterable[ClusterItem]) -> list[ClusterItem]:
    """Items by published time; undated items keep their order after the dated ones."""
    indexed = list(enumerate(items))
    indexed.sort(
        key=lambda pair: (
            pair[1].published is None,
            pair[1].published or datetime.min.replace(tzinfo=UTC),
            pair[0],
        )
    )
    return [item for _, item in indexed]


def assign_items(
    items: Iterable[ClusterItem], config: ClusterConfig | None = None
) -> Iterator[tuple[str, str]]:
    """(item id, story id) for each item, in input order, placed by the daemon's processing
    path on a temporary database (see the module docstring).

    Story ids are final: an item placed in a story that was later merged into another (two
    fragments of one event) gets the surviving story's id, as the daemon moves its row.
    """
    listed = list(items)
    ordered = publication_order(listed)
    with tempfile.TemporaryDirectory(prefix="newsbot-cluster-") as folder:
        db = Database(f"sqlite:///{Path(folder) / 'cluster.db'}")
        try:
            upgrade_schema(db)
            story_of = _process(db, ordered, config or ClusterConfig())
        finally:
            db.dispose()
    for item in listed:
        yield item.key, story_of[item.key]


def _process(db: Database, ordered: list[ClusterItem], config: ClusterConfig) -> dict[str, str]:
    """Store `ordered` as entries, process them, and read back each entry's story key.

    Undated items are stored at the run's time, a microsecond apart in their input order: the
    story builder breaks ties in publication time by the entry's identity (as the daemon does for
    entries of many feeds), and undated items keep the order they were given in."""
    run = datetime.now(UTC)
    undated = iter(range(len(ordered)))
    with db.session() as session:
        feed = FeedRow(url=INPUT_FEED_URL, name="input", created_at=run)
        session.add(feed)
        session.flush()
        store_entries(
            session,
            feed,
            [
                Entry(
                    identity=item.key,
                    title=item.title,
                    link=item.url,
                    summary=item.summary,
                    text=item.text,
                    published=item.published or run + timedelta(microseconds=next(undated)),
                    guid=item.key,
                    source=item.source,
                )
                for item in ordered
            ],
            run,
        )
    # No rules and a threshold of zero: every item is relevant, so every item is clustered.
    story_builder = StoryBuilder(db, RuleSet([], threshold=0.0), config, clock=lambda: run)
    story_builder.process_pending()
    with db.session() as session:
        story_of = story_key_by_identity(session)
    missing = [item.key for item in ordered if item.key not in story_of]
    if missing:
        raise RuntimeError(
            f"{plural(len(missing), 'item was', 'items were')} not placed in a story: {missing[:5]}"
        )
    return story_of


@click.command("cluster")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Items as JSON lines (id, title, summary, text, published, source, url).",
)
@click.option(
    "--output",
    "output_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help='Where to write one {"id", "story_id"} line per item.',
)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration file whose [clustering] settings (active window, semantic) to use "
    "(default: the global -c / $NEWSBOT_CONFIG).",
)
@click.option("--semantic", is_flag=True, help="Add sentence embeddings (the [semantic] extra).")
@click.pass_context
def cluster_command(
    ctx: click.Context,
    input_path: Path,
    output_path: Path,
    config_path: Path | None,
    semantic: bool,
) -> None:
    """Group items into stories and write each item's story id."""
    require_folder_of(output_path, "--output")
    obj = app(ctx)
    if config_path is not None:
        obj.config_path = config_path
    settings = obj.settings()
    config = ClusterConfig.from_settings(settings.clustering)
    if semantic or config.semantic:
        # Sentence embeddings (the [semantic] extra): checked and loaded before reading items.
        try:
            default_embedder()
        except SemanticUnavailable as exc:
            fail(str(exc), code=EXIT_CONFIG)
        config = replace(config, semantic=True)
    try:
        items = read_items(input_path)
    except InputError as exc:
        fail(str(exc), prefix="input error")
    story_of = dict(assign_items(items, config))
    with writing(output_path, "--output"), output_path.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps({"id": item.key, "story_id": story_of[item.key]}) + "\n")
    click.echo(
        f"{plural(len(items), 'item')} in "
        f"{plural(len(set(story_of.values())), 'story', 'stories')} -> {output_path}",
        err=True,
    )
