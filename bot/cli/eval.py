"""`newsbot eval`: how well the daemon's stories match labelled ones, end to end.

Serves labelled items (JSON lines with `id`, `cluster_id`, `title`, `summary`, optional `text`,
`published`, `source`, `url`) as one RSS feed per outlet on 127.0.0.1, runs one real poll into
a fresh temporary database (fetch, parse, store, match with the rules, cluster), reads the
stories back from storage and scores them against the gold stories: B-cubed and pairwise
precision, recall and F1. An item that reaches no story counts as a story of its own. See
:mod:`bot.evaluation.endtoend` for how the poll is run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from bot.cli.common import EXIT_CONFIG, app, fail, setup_logging
from bot.evaluation.endtoend import EndToEndResult, EvaluationError, evaluate_end_to_end
from bot.evaluation.items import InputError, LabelledItem, read_labelled
from bot.evaluation.scores import Disagreement
from bot.matcher import RuleError, load_rules
from bot.text.plural import plural


def _shown(rules: str) -> str:
    """A rule file as the text output names it: relative to the working folder when inside it."""
    path = Path(rules)
    if not path.is_file():  # what stood in for a file: "<every item relevant>"
        return rules
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return rules


def _figures(result: EndToEndResult, name: str) -> list[str]:
    figures = result.summary()
    return [
        f"{name}: {plural(len(result.gold), 'item')} in "
        f"{plural(len(set(result.gold.values())), 'gold story', 'gold stories')}, served as "
        f"{plural(result.feeds, 'feed')}; rules: {_shown(result.rules)}; "
        f"database: {result.database}",
        f"poll: {figures['poll']}",
        f"stories: {figures['stories']} made; "
        f"{plural(len(result.placement.not_relevant), 'item')} not relevant, "
        f"{figures['not_placed']} not placed; "
        f"{plural(result.predicted_stories, 'predicted story', 'predicted stories')} "
        "(an item in no story counts as one)",
        f"B-cubed   P {result.bcubed.precision:.3f}  R {result.bcubed.recall:.3f}  "
        f"F1 {result.bcubed.f1:.3f}",
        f"pairwise  P {result.pairwise.precision:.3f}  R {result.pairwise.recall:.3f}  "
        f"F1 {result.pairwise.f1:.3f}",
    ]


def _where(result: EndToEndResult, story: str) -> str:
    """How the details name a predicted story: its stored id, or why an item has none."""
    if not story.startswith("alone:"):
        return f"story {story}"
    key = story.removeprefix("alone:")
    if key in result.placement.not_relevant:
        return "no story (not relevant)"
    return "no story (not placed)"


def _listing(titles: dict[str, str], keys: list[str]) -> list[str]:
    return [f"      {key}  {titles[key]}" for key in keys]


def _details(result: EndToEndResult, titles: dict[str, str]) -> tuple[list[str], dict[str, object]]:
    """The split and the mixed stories, as lines and as JSON."""

    def items(keys: list[str]) -> list[dict[str, str]]:
        return [{"id": key, "title": titles[key]} for key in keys]

    def size(found: Disagreement) -> int:
        return sum(len(keys) for keys in found.parts.values())

    lines = [f"gold stories split over several predicted stories: {len(result.split)}"]
    for found in result.split:
        lines.append(
            f"  {found.story}: {plural(size(found), 'item')} in "
            f"{plural(len(found.parts), 'story', 'stories')}"
        )
        for story, keys in found.parts.items():
            lines += [f"    {_where(result, story)}:", *_listing(titles, keys)]
    lines.append(f"predicted stories mixing gold stories: {len(result.mixed)}")
    for found in result.mixed:
        where = _where(result, found.story)
        lines.append(
            f"  {where}: {plural(size(found), 'item')} of "
            f"{plural(len(found.parts), 'gold story', 'gold stories')}"
        )
        for gold, keys in found.parts.items():
            lines += [f"    {gold}:", *_listing(titles, keys)]
    data: dict[str, object] = {
        "split": [
            {
                "gold_story": found.story,
                "parts": [
                    {"story": _where(result, story), "items": items(keys)}
                    for story, keys in found.parts.items()
                ],
            }
            for found in result.split
        ],
        "mixed": [
            {
                "story": _where(result, found.story),
                "parts": [
                    {"gold_story": gold, "items": items(keys)} for gold, keys in found.parts.items()
                ],
            }
            for found in result.mixed
        ],
    }
    return lines, data


def _database_url(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None and not value.startswith(("postgresql:", "postgresql+", "postgres:")):
        raise click.BadParameter(
            "expected a PostgreSQL URL such as postgresql+psycopg://user@host:5432/postgres "
            "(the default is a temporary SQLite database)"
        )
    return value


@click.command("eval")
@click.argument("input_path", metavar="FILE", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--rules",
    "rules_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Relevance rule file (default: the configuration's rules, else the bundled ones).",
)
@click.option(
    "--all-relevant",
    is_flag=True,
    help="Skip relevance: every item is clustered (scores the clustering alone).",
)
@click.option(
    "--database-url",
    metavar="URL",
    callback=_database_url,
    help="Run on this PostgreSQL server: a temporary database is created there (the user needs "
    "CREATEDB) and dropped afterwards. Default: a temporary SQLite file.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as one JSON object.")
@click.option(
    "--details",
    is_flag=True,
    help="Also list gold stories that were split and predicted stories that mix gold stories.",
)
@click.pass_context
def eval_command(
    ctx: click.Context,
    input_path: Path,
    rules_path: Path | None,
    all_relevant: bool,
    database_url: str | None,
    as_json: bool,
    details: bool,
) -> None:
    """Score the stories a real poll makes of labelled items (JSON lines) against their labels.

    The items are served as one RSS feed per outlet on 127.0.0.1 and polled once into a fresh
    database, as `newsbot poll --all` does; the stories are read back from storage. Prints
    B-cubed and pairwise precision/recall/F1; an item in no story counts as its own story.
    """
    obj = app(ctx)
    setup_logging((obj.log_level or "WARNING").upper(), obj.log_json)
    if rules_path is not None and all_relevant:
        fail("--rules and --all-relevant exclude each other", code=EXIT_CONFIG, prefix="usage")
    settings = obj.settings()
    try:
        labelled: list[LabelledItem] = read_labelled(input_path)
    except InputError as exc:
        fail(str(exc), code=EXIT_CONFIG, prefix="input error")
    if not labelled:
        fail(f"{input_path}: no items", code=EXIT_CONFIG, prefix="input error")
    if not all_relevant:
        try:
            load_rules(rules_path or settings.rules)  # a bad rule file fails before any work
        except RuleError as exc:
            fail(str(exc), code=EXIT_CONFIG, prefix="rules error")
    try:
        result = evaluate_end_to_end(
            labelled,
            settings,
            rules=rules_path,
            all_relevant=all_relevant,
            database_url=database_url,
        )
    except EvaluationError as exc:
        fail(str(exc))
    titles = {entry.item.key: entry.item.title or entry.item.summary[:80] for entry in labelled}
    detail_lines, detail_data = _details(result, titles) if details else ([], {})
    if as_json:
        click.echo(json.dumps({"input": str(input_path), **result.summary(), **detail_data}))
    else:
        for line in [*_figures(result, input_path.name), *detail_lines]:
            click.echo(line)
    if result.failed_feeds:
        click.echo(
            f"newsbot: error: {result.failed_feeds} of {plural(result.feeds, 'feed')} "
            f"could not be read; "
            "their items count as not placed",
            err=True,
        )
        sys.exit(1)
