"""`newsbot cluster`: place labelled or unlabelled items into stories, offline.

Reads items (JSON lines: `id`, `title`, `summary`, optional `text`, `published`, `source`,
`url`), runs them in published-time order through `bot.clustering.StoryClusterer` (the engine the
worker and the daemon use, with the configuration's clustering settings), and writes one
`{"id", "story_id"}` line per item in input order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot.cli.common import EXIT_CONFIG, app, fail
from bot.clustering import ClusterConfig, ClusterItem, StoryClusterer


class InputError(ValueError):
    """An input line that is not a usable item; names the file and line."""


def _published(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise InputError(f"{where}: 'published' must be an ISO 8601 string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError(f"{where}: 'published' is not ISO 8601: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    return value if isinstance(value, str) else ""


def read_items(path: Path) -> list[ClusterItem]:
    """Items of a JSON-lines file, in file order; raises InputError naming the bad line."""
    items: list[ClusterItem] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: not JSON ({exc.msg})") from exc
            if not isinstance(record, dict):
                raise InputError(f"{where}: expected a JSON object")
            if record.get("id") in (None, ""):
                raise InputError(f"{where}: missing 'id'")
            key = str(record["id"])
            if key in seen:
                raise InputError(f"{where}: duplicate id {key!r}")
            seen.add(key)
            if not _text(record, "title") and not _text(record, "summary"):
                raise InputError(f"{where}: item {key!r} has neither 'title' nor 'summary'")
            items.append(
                ClusterItem(
                    key=key,
                    title=_text(record, "title"),
                    summary=_text(record, "summary"),
                    text=_text(record, "text"),
                    published=_published(record.get("published"), where),
                    source=record.get("source") if isinstance(record.get("source"), str) else None,
                    url=record.get("url") if isinstance(record.get("url"), str) else None,
                )
            )
    return items


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
    """(item id, story id) for each item, placed in published-time order by one engine.

    Story ids are final: an item placed in a story that was later merged into another (two
    fragments of one event) gets the surviving story's id.
    """
    clusterer = StoryClusterer(config or ClusterConfig())
    placed = [(item.key, clusterer.add(item).story_key) for item in publication_order(items)]
    for key, story in placed:
        yield key, clusterer.resolve(story)


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
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Configuration file whose [clustering] settings to use (default: the global --config).",
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
    obj = app(ctx)
    if config_path is not None:
        obj.config_path = config_path
    settings = obj.settings()
    if semantic or settings.clustering.semantic:
        fail(
            "the semantic extra is not available in this build; run without --semantic "
            "(and with clustering.semantic = false)",
            code=EXIT_CONFIG,
        )
    try:
        items = read_items(input_path)
    except InputError as exc:
        fail(str(exc), prefix="input error")
    except UnicodeDecodeError as exc:
        fail(f"{input_path}: not UTF-8 text ({exc.reason})", prefix="input error")
    story_of = dict(assign_items(items, ClusterConfig.from_settings(settings.clustering)))
    with output_path.open("w", encoding="utf-8") as out:
        for item in items:
            out.write(json.dumps({"id": item.key, "story_id": story_of[item.key]}) + "\n")
    click.echo(
        f"{len(items)} items in {len(set(story_of.values()))} stories -> {output_path}", err=True
    )
