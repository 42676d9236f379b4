"""`newsbot deals`: the deal ledger, as a table on a terminal or as CSV or JSON.

Brings the stored deal records up to date with their stories first (bot.worker.ledger), then
lists the deals first reported in the period, filtered by party and kind. CSV and JSON use the
stable columns of `bot.ledger.export` (README: "The deal ledger").
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import click

from bot.cli.common import EXIT_CONFIG, app, fail
from bot.digest.render.common import format_amount, format_power
from bot.ledger import KINDS, STATUS_CONFIRMED, UNKNOWN_KIND, DealRecord
from bot.ledger.export import deal_row, to_csv

_DURATION = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_since(value: str, now: datetime) -> datetime:
    """ "30d", "12h", "2w" before `now`, or a date ("2025-01-31", UTC midnight)."""
    match = _DURATION.match(value)
    if match:
        try:
            return now - int(match.group(1)) * _UNITS[match.group(2).lower()]
        except OverflowError:  # before the year 1, or past what a timedelta holds
            raise click.BadParameter(
                f"{value!r} reaches back before the year 1: expected a shorter duration "
                "(30d, 12h, 2w) or a date (2025-01-31)"
            ) from None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither a duration (30d, 12h, 2w) nor a date (2025-01-31)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _matches_party(record: DealRecord, party: str) -> bool:
    wanted = party.casefold().strip()
    return any(
        wanted in name.casefold() for name in (*record.parties, *record.buyers, *record.sellers)
    )


def _money_cell(record: DealRecord) -> str:
    figure = record.value_usd
    if figure.counted is not None:
        text = format_amount(figure.counted)
    elif figure.low is not None and figure.high is not None:
        low, high = format_amount(figure.low), format_amount(figure.high)
        text = (
            f"{low} ({', '.join(figure.low_outlets)}) – {high} ({', '.join(figure.high_outlets)})"
        )
    else:
        text = ""
    given = "; ".join(f"{c.text} ({c.outlet})" for c in record.value_as_given)
    return "\n".join(part for part in (text, given and f"as given: {given}") if part)


def _power_cell(record: DealRecord) -> str:
    figure = record.power_mw
    if figure.counted is not None:
        return format_power(figure.counted)
    if figure.low is not None and figure.high is not None:
        return (
            f"{format_power(figure.low)} ({', '.join(figure.low_outlets)}) – "
            f"{format_power(figure.high)} ({', '.join(figure.high_outlets)})"
        )
    return ""


def _chips_cell(record: DealRecord) -> str:
    figure = record.chips
    if figure.counted is not None:
        return f"{int(figure.counted):,}"
    if figure.low is not None and figure.high is not None:
        return (
            f"{int(figure.low):,} ({', '.join(figure.low_outlets)}) – "
            f"{int(figure.high):,} ({', '.join(figure.high_outlets)})"
        )
    return ""


def _table(records: list[DealRecord]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Deal ledger: {len(records)} deal{'s' if len(records) != 1 else ''}")
    table.add_column("First reported", no_wrap=True)
    table.add_column("Kind")
    table.add_column("Buyer → seller")
    for column in ("Value", "Power", "Chips"):
        table.add_column(column, justify="right")
    table.add_column("Headline", overflow="fold", ratio=2)
    for record in records:
        if record.buyers or record.sellers:
            who = f"{', '.join(record.buyers) or '?'} → {', '.join(record.sellers) or '?'}"
        else:
            who = ", ".join(record.parties)
        when = f"{record.first_reported:%Y-%m-%d}" if record.first_reported else ""
        table.add_row(
            when + ("" if record.status == STATUS_CONFIRMED else f"\n({record.status})"),
            record.kind,
            who,
            _money_cell(record),
            _power_cell(record),
            _chips_cell(record),
            record.headline,
        )
    # Feed text is printed as text, never as console markup.
    Console(markup=False, highlight=False, emoji=False).print(table)


@click.command("deals")
@click.option(
    "--since",
    metavar="AGE|DATE",
    help="Only deals first reported since then: 30d, 12h, 2w, or a date (2025-01-31).",
)
@click.option("--party", metavar="NAME", help="Only deals naming this party (part of a name).")
@click.option(
    "--kind",
    type=click.Choice([*KINDS, UNKNOWN_KIND], case_sensitive=False),
    help="Only deals of this kind.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="A table for the terminal, or CSV or JSON with the columns documented in README.md.",
)
@click.pass_context
def deals_command(
    ctx: click.Context, since: str | None, party: str | None, kind: str | None, fmt: str
) -> None:
    """The deal ledger: one row per deal story, with its parties, kind, figures and sources.

    A figure is counted only where the story's reports agree on it; where they disagree the
    range is shown with the outlets at each end."""
    from bot.storage.deals import deal_records
    from bot.worker.ledger import refresh_deals

    now = datetime.now(UTC)
    try:
        start = parse_since(since, now) if since else None
    except click.BadParameter as exc:
        fail(f"--since: {exc.message}", code=EXIT_CONFIG, prefix="usage")
    database = app(ctx).database()
    refresh_deals(database, now)
    with database.session() as session:
        rows = deal_records(session, since=start, kinds=[kind.lower()] if kind else ())
    records = [DealRecord.from_json(row) for row in rows]
    if party:
        records = [record for record in records if _matches_party(record, party)]
    if fmt == "json":
        click.echo(json.dumps([deal_row(r) for r in records], ensure_ascii=False, indent=2))
    elif fmt == "csv":
        click.echo(to_csv(records), nl=False)
    else:
        _table(records)
