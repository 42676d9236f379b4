"""`newsbot match --input ITEMS.jsonl --output OUT.jsonl`: score items with the daemon's rules.

Each input line is a JSON object with `id`, `title` and optionally `summary`, `text`, `source`,
`url` (or `link`), `author` and `categories` (a list, or one string): `newsbot parse` prints such
lines. Each output line is
`{"id", "relevant", "score", "rules"}`, plus, with `--explain`, `"matches"` (rule, weight, terms,
fields) and, for an item that is not relevant, `"nearest"`: the rule it came nearest to matching,
the parts of it the item has, those it lacks and the exclusions that vetoed it (null when no rule
comes near). Input lines labelled `"relevant": true/false` are compared with the decisions: the
recall, the share of negatives matched and the ids decided wrongly are printed to stderr, which is
the loop for tuning rules on one's own feed (README). The whole input is validated before anything
is written, so a bad line (named by its number) leaves no half-written output.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import click

from bot.cli.common import app, fail
from bot.config.settings import packaged_rules_path
from bot.matcher import RuleError, RuleSet, load_rules
from bot.model.match import MatchItem, MatchResult, NearestRule
from bot.text.bounded import LineTooLong, bounded_lines
from bot.text.plural import plural

EXIT_INPUT = 2
_OPTIONAL_TEXT = ("summary", "text", "source", "url", "author")


class InputError(ValueError):
    """An input line that is not a usable item."""


def _text(value: Any, key: str, line: int) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InputError(f"line {line}: '{key}' must be a string, got {type(value).__name__}")


def item_from_record(record: Any, line: int) -> tuple[str | int, MatchItem]:
    """The id and MatchItem of one parsed input line; raises InputError naming the line."""
    if not isinstance(record, dict):
        raise InputError(f"line {line}: expected a JSON object, got {type(record).__name__}")
    item_id = record.get("id")
    if isinstance(item_id, bool) or not isinstance(item_id, str | int) or item_id == "":
        raise InputError(f"line {line}: expected an 'id' (string or number), got {item_id!r}")
    title = record.get("title")
    if not isinstance(title, str):
        raise InputError(f"line {line}: expected a 'title' string, got {title!r}")
    fields = {key: _text(record.get(key), key, line) for key in _OPTIONAL_TEXT}
    if fields["url"] is None:  # `newsbot parse` calls it the entry's link
        fields["url"] = _text(record.get("link"), "link", line)
    raw_categories = record.get("categories", record.get("category", []))
    if isinstance(raw_categories, str):
        categories = [raw_categories]
    elif isinstance(raw_categories, list) and all(isinstance(c, str) for c in raw_categories):
        categories = list(raw_categories)
    elif raw_categories is None:
        categories = []
    else:
        raise InputError(f"line {line}: 'categories' must be a list of strings")
    item = MatchItem(
        title=title,
        summary=fields["summary"] or "",
        text=fields["text"] or "",
        source=fields["source"],
        url=fields["url"],
        author=fields["author"],
        categories=categories,
    )
    return item_id, item


def _numbered_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    """(line number, line) of a text stream; raises InputError when it is not UTF-8, as
    `newsbot cluster` and `newsbot eval` say it."""
    try:
        yield from bounded_lines(stream)
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})") from None
    except LineTooLong as exc:
        raise InputError(str(exc)) from None


def read_items(
    stream: IO[str], labels: dict[str | int, bool] | None = None
) -> list[tuple[str | int, MatchItem]]:
    """The items of a JSON-lines stream; `labels`, when given, receives each labelled item's
    `relevant` value (true or false) by id."""
    items: list[tuple[str | int, MatchItem]] = []
    for number, line in _numbered_lines(stream):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(
                f"line {number}: expected a JSON object, got invalid JSON ({error.msg})"
            ) from None
        item_id, item = item_from_record(record, number)
        items.append((item_id, item))
        label = record.get("relevant")
        if label is not None and not isinstance(label, bool):
            raise InputError(f"line {number}: 'relevant' must be true or false, got {label!r}")
        if labels is not None and label is not None:
            labels[item_id] = label
    return items


def result_record(
    item_id: str | int, result: MatchResult, explain: bool, nearest: NearestRule | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": item_id,
        "relevant": result.relevant,
        "score": result.score,
        "rules": result.rules,
    }
    if explain:
        record["matches"] = [
            {
                "rule": hit.rule,
                "weight": hit.weight,
                "terms": list(hit.terms),
                "fields": list(hit.fields),
            }
            for hit in result.hits
        ]
        if not result.relevant:
            record["nearest"] = (
                None
                if nearest is None
                else {
                    "rule": nearest.rule,
                    "share": nearest.share,
                    "has": list(nearest.has),
                    "lacks": list(nearest.lacks),
                    "excluded_by": list(nearest.excluded_by),
                }
            )
    return record


def labelled_summary(decisions: list[tuple[str | int, bool, bool]]) -> list[str]:
    """Lines comparing decisions with labels: (id, label, decision) for each labelled item."""
    positives = [(i, d) for i, label, d in decisions if label]
    negatives = [(i, d) for i, label, d in decisions if not label]
    missed = [i for i, d in positives if not d]
    wrong = [i for i, d in negatives if d]
    lines = []
    if positives:
        found = len(positives) - len(missed)
        lines.append(
            f"labelled relevant: {found} of {len(positives)} matched "
            f"(recall {found / len(positives):.3f})"
            + (f"; missed: {_ids(missed)}" if missed else "")
        )
    if negatives:
        lines.append(
            f"labelled not relevant: {len(wrong)} of {len(negatives)} matched "
            f"({len(wrong) / len(negatives):.1%})" + (f": {_ids(wrong)}" if wrong else "")
        )
    return lines


def _ids(ids: list[str | int], limit: int = 20) -> str:
    shown = ", ".join(str(i) for i in ids[:limit])
    return shown + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _rules_path(ctx: click.Context, rules: Path | None) -> Path:
    if rules is not None:
        return rules
    context = app(ctx)
    if context.config_path is not None:
        return context.settings().rules
    return packaged_rules_path()


@click.command("match")
@click.option(
    "--input",
    "input_file",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="Items as JSON lines (id, title, summary, ...); '-' for stdin.",
)
@click.option(
    "--output",
    "output_file",
    required=True,
    type=click.File("w", encoding="utf-8", lazy=True),
    help="Where to write one JSON line per item; '-' for stdout.",
)
@click.option(
    "--rules",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Rule file (TOML). Default: the configuration's rules, else the bundled ones.",
)
@click.option("--threshold", type=float, help="Relevance threshold (default: the rule file's).")
@click.option("--explain", is_flag=True, help="Add the matched rules, terms and fields.")
@click.pass_context
def match_command(
    ctx: click.Context,
    input_file: IO[str],
    output_file: IO[str],
    rules: Path | None,
    threshold: float | None,
    explain: bool,
) -> None:
    """Score items against relevance rules, with the same engine as the daemon."""
    path = _rules_path(ctx, rules)
    try:
        rule_set: RuleSet = load_rules(path)
    except RuleError as error:
        fail(str(error), code=EXIT_INPUT, prefix="rule error")
    if threshold is None and rules is None and app(ctx).config_path is not None:
        threshold = app(ctx).settings().threshold
    rule_set = rule_set.with_threshold(threshold)
    labels: dict[str | int, bool] = {}
    try:
        items = read_items(input_file, labels)
    except InputError as error:
        fail(f"{input_file.name}: {error}", code=EXIT_INPUT, prefix="input error")
    relevant = 0
    decisions: list[tuple[str | int, bool, bool]] = []
    for item_id, item in items:
        result = rule_set.match(item)
        relevant += result.relevant
        nearest = rule_set.nearest(item) if explain and not result.relevant else None
        output_file.write(json.dumps(result_record(item_id, result, explain, nearest)) + "\n")
        if item_id in labels:
            decisions.append((item_id, labels[item_id], result.relevant))
    output_file.flush()
    click.echo(
        f"{plural(len(items), 'item')}, {relevant} relevant "
        f"(threshold {rule_set.threshold:g}, rules {path})",
        err=True,
    )
    for line in labelled_summary(decisions):
        click.echo(line, err=True)
