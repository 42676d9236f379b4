"""`newsbot feeds`: every feed's health, and OPML import/export of the subscription list.

Imported feeds are stored in the database next to the configured ones (the configuration file
is the operator's and is never rewritten); the poller checks both.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import select

from bot.cli.common import app, fail
from bot.config.settings import FetchSettings
from bot.reader.fetcher.schedule import is_unhealthy
from bot.reader.opml import OpmlError, OpmlFeed, parse_opml, render_opml
from bot.storage.models import Feed
from bot.text.plural import plural


@dataclass(frozen=True, slots=True)
class FeedHealth:
    url: str
    name: str | None
    status: str  # ok, failing, unhealthy, disabled, new
    consecutive_failures: int
    last_success: str | None
    last_checked: str | None
    next_check: str | None
    last_error_class: str | None
    last_error: str | None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def feed_health(feed: Feed, settings: FetchSettings) -> FeedHealth:
    """The health of one stored feed, as `newsbot feeds` reports it."""
    if not feed.enabled:
        status = "disabled"
    elif is_unhealthy(settings, feed.consecutive_failures):
        status = "unhealthy"
    elif feed.consecutive_failures:
        status = "failing"
    elif feed.last_success_at is None:
        status = "new"
    else:
        status = "ok"
    error = feed.disabled_reason if not feed.enabled and feed.disabled_reason else feed.last_error
    return FeedHealth(
        url=feed.url,
        name=feed.name or feed.title,
        status=status,
        consecutive_failures=feed.consecutive_failures,
        last_success=_iso(feed.last_success_at),
        last_checked=_iso(feed.last_checked_at),
        next_check=_iso(feed.next_check_at) if feed.enabled else None,
        last_error_class=feed.last_error_class if status != "ok" else None,
        last_error=error if status != "ok" else None,
    )


def _stored_feeds(ctx: click.Context) -> list[Feed]:
    with app(ctx).database().session() as session:
        rows = list(session.scalars(select(Feed).order_by(Feed.url)))
        session.expunge_all()
    return rows


@click.group("feeds", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
@click.pass_context
def feeds_command(ctx: click.Context, as_json: bool) -> None:
    """List every feed's health: status, failures, last success, next check, last error.

    A feed is unhealthy after fetch.unhealthy_after consecutive failures; 410 Gone disables it.
    Exits 1 when any feed is unhealthy or disabled.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = app(ctx).settings()
    rows = _stored_feeds(ctx)
    healths = [feed_health(feed, settings.fetch) for feed in rows]
    stored = {health.url for health in healths}
    stored.update(f.configured_url for f in rows if f.configured_url)
    for configured in settings.feeds:
        if configured.url not in stored:  # configured but never polled yet
            healths.append(FeedHealth(configured.url, configured.name, "new", 0, *[None] * 5))
    if as_json:
        for health in healths:
            click.echo(json.dumps(asdict(health)))
    else:
        _print_table(healths)
    sys.exit(1 if any(h.status in ("unhealthy", "disabled") for h in healths) else 0)


def _print_table(healths: list[FeedHealth]) -> None:
    if not healths:
        click.echo("no feeds (configure [[feeds]] or run `newsbot feeds import FILE.opml`)")
        return
    click.echo(f"{'STATUS':<10} {'FAILS':>5}  {'LAST SUCCESS':<20} {'NEXT CHECK':<20} FEED")
    for health in healths:
        click.echo(
            f"{health.status:<10} {health.consecutive_failures:>5}  "
            f"{health.last_success or '-':<20} {health.next_check or '-':<20} {health.url}"
        )
        if health.last_error:
            click.echo(f"{'':<59}{health.last_error_class or 'error'}: {health.last_error}")


@feeds_command.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_command(ctx: click.Context, file: Path) -> None:
    """Add the feeds of an OPML file (from another feed reader) to the database."""
    try:
        result = parse_opml(file.read_bytes())
    except OpmlError as exc:
        fail(f"{file}: {exc}")
    now = datetime.now(UTC)
    added = present = 0
    with app(ctx).database().session() as session:
        known: set[str] = set()
        for url, configured_url in session.execute(select(Feed.url, Feed.configured_url)):
            known.update(u for u in (url, configured_url) if u)
        for feed in result.feeds:
            if feed.url in known:
                present += 1
                continue
            known.add(feed.url)
            session.add(
                Feed(
                    url=feed.url,
                    configured_url=feed.url,
                    name=feed.title,
                    enabled=True,
                    created_at=now,
                    next_check_at=now,
                    consecutive_failures=0,
                )
            )
            added += 1
    for reason in result.skipped:
        click.echo(f"newsbot feeds import: {file}: skipped {reason}", err=True)
    click.echo(
        f"{plural(added, 'feed')} added, {present} already present, {len(result.skipped)} skipped"
    )


@feeds_command.command("export")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
@click.pass_context
def export_command(ctx: click.Context, output: Path | None) -> None:
    """Write every feed (stored and configured) as an OPML 2.0 document.

    A feed that moved (301/308) is written once, with its current URL.
    """
    settings = app(ctx).settings()
    stored = _stored_feeds(ctx)
    moved = {
        f.configured_url: f.url for f in stored if f.configured_url and f.configured_url != f.url
    }
    listed: dict[str, OpmlFeed] = {}
    for configured in settings.feeds:
        url = moved.get(configured.url, configured.url)
        listed[url] = OpmlFeed(url=url, title=configured.name)
    for feed in stored:
        if feed.url not in listed:
            listed[feed.url] = OpmlFeed(url=feed.url, title=feed.name or feed.title)
    document = render_opml(listed.values())
    if output is None:
        click.echo(document, nl=False)
    else:
        output.write_bytes(document)
        click.echo(f"{plural(len(listed), 'feed')} written to {output}", err=True)
