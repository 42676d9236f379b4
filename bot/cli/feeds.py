"""`newsbot feeds`: every feed's health and origin, OPML import/export, and removal.

Imported feeds are stored in the database next to the configured ones (the configuration file
is the operator's and is never rewritten); the poller checks both. The configuration is the
source of truth for the feeds it lists: one dropped from it is removed at the next poll (or
SIGHUP), and `newsbot feeds remove` removes imported ones only. Removed feeds keep their
entries until retention deletes them.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click

from bot.cli.common import EXIT_CONFIG, app, fail
from bot.cli.output import require_folder_of, writing
from bot.config import Settings, config_file_name
from bot.config.settings import FetchSettings
from bot.reader.fetcher.schedule import is_unhealthy
from bot.reader.opml import OpmlError, OpmlFeed, parse_opml, render_opml
from bot.storage.feeds import (
    FeedRemovalError,
    entry_counts,
    import_feeds,
    listed_feeds,
    remove_feed,
)
from bot.storage.models import FeedRow
from bot.text.bounded import FileTooLarge, read_at_most
from bot.text.plural import plural
from bot.text.redaction import MASK, mask_url, mask_urls_in

# Far above a real subscription list (10,000 feeds make about 2 MB of OPML).
MAX_OPML_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class FeedHealth:
    url: str
    name: str | None
    status: str  # ok, empty, failing, unhealthy, disabled, new, removed
    consecutive_failures: int
    last_success: str | None
    last_checked: str | None
    next_check: str | None
    last_error_class: str | None
    last_error: str | None
    # Where the feed comes from: "config" (the configuration file lists it), "opml" (imported),
    # both joined with "+", or "" (neither: removed); `source_files` names the files.
    source: str = ""
    source_files: list[str] = field(default_factory=list)
    stored: int = 0  # entries stored now
    # What the last parsed body gave (bot.storage.plan.EntryPlan.counts): new, updated,
    # unchanged, too_old, duplicate, expired, backfilled.
    last_poll: dict[str, int] = field(default_factory=dict)
    removed_at: str | None = None


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def feed_health(
    feed: FeedRow,
    settings: FetchSettings,
    *,
    stored: int = 0,
    configured_in: str | None = None,
) -> FeedHealth:
    """The health of one stored feed, as `newsbot feeds` reports it. `configured_in`: the
    configuration file that lists the feed, if one does."""
    counts = {k: int(v) for k, v in (feed.last_poll_counts or {}).items()}
    if feed.removed_at is not None:
        status = "removed"
    elif not feed.enabled:
        status = "disabled"
    elif is_unhealthy(settings, feed.consecutive_failures):
        status = "unhealthy"
    elif feed.consecutive_failures:
        status = "failing"
    elif feed.last_success_at is None:
        status = "new"
    elif stored == 0 and feed.first_parsed_at is not None:
        status = "empty"  # fetched and parsed, but nothing of it is stored
    else:
        status = "ok"
    error = feed.disabled_reason if not feed.enabled and feed.disabled_reason else feed.last_error
    if status == "empty":
        error = _empty_reason(counts)
    sources: list[str] = []
    files: list[str] = []
    if configured_in is not None:
        sources.append("config")
        files.append(configured_in)
    if feed.imported_from is not None and feed.removed_at is None:
        sources.append("opml")
        files.append(feed.imported_from)
    shows_error = status not in ("ok", "new", "removed")
    return FeedHealth(
        url=mask_url(feed.url),
        name=feed.name or feed.title,
        status=status,
        consecutive_failures=feed.consecutive_failures,
        last_success=_iso(feed.last_success_at),
        last_checked=_iso(feed.last_checked_at),
        next_check=_iso(feed.next_check_at) if status not in ("disabled", "removed") else None,
        last_error_class=(feed.last_error_class if status != "empty" else "empty")
        if shows_error
        else None,
        # stored masked since issue 18; rows stored before may still hold a raw URL
        last_error=mask_urls_in(error) if shows_error and error else None,
        source="+".join(sources),
        source_files=files,
        stored=stored,
        last_poll=counts,
        removed_at=_iso(feed.removed_at),
    )


def _empty_reason(counts: dict[str, int]) -> str:
    skipped = counts.get("too_old", 0)
    if skipped:
        return (
            f"no entries stored: the last poll skipped {plural(skipped, 'item')} older than "
            "daemon.retention_days"
        )
    return "no entries stored: the feed lists no items"


def _stored_feeds(ctx: click.Context) -> tuple[list[FeedRow], dict[int, int]]:
    with app(ctx).database().session() as session:
        counts = entry_counts(session)
        rows = listed_feeds(session)
    return rows, counts


def _configured_in(settings: Settings, feed: FeedRow) -> str | None:
    """The configuration file listing `feed` (as configured or at its moved URL), if any."""
    urls = {feed.url, feed.configured_url}
    if any(configured.url in urls for configured in settings.feeds):
        return config_file_name(settings)
    return None


@click.group("feeds", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per feed.")
@click.option("--all", "show_removed", is_flag=True, help="Also list removed feeds (entries kept).")
@click.pass_context
def feeds_command(ctx: click.Context, as_json: bool, show_removed: bool) -> None:
    """List every feed: status, where it comes from (config or OPML import, and which file),
    entries stored, what its last poll stored and skipped, failures, last success, next check,
    last error.

    A feed is unhealthy after fetch.unhealthy_after consecutive failures; 410 Gone disables it;
    "empty" means it was fetched and parsed but nothing of it is stored. Exits 1 when any feed
    is unhealthy or disabled.
    """
    if ctx.invoked_subcommand is not None:
        return
    settings = app(ctx).settings()
    rows, counts = _stored_feeds(ctx)
    healths: list[FeedHealth] = []
    for feed in rows:
        configured_in = _configured_in(settings, feed)
        if feed.imported_from is None and configured_in is None and feed.removed_at is None:
            # Dropped from the configuration since the last poll, which will remove it.
            feed.removed_at = datetime.now(UTC)
        health = feed_health(
            feed, settings.fetch, stored=counts.get(feed.id, 0), configured_in=configured_in
        )
        if health.status != "removed" or show_removed:
            healths.append(health)
    stored = {u for f in rows for u in (f.url, f.configured_url) if u}
    for configured in settings.feeds:
        if configured.url not in stored:  # configured but never polled yet
            healths.append(
                FeedHealth(
                    mask_url(configured.url),
                    configured.name,
                    "new",
                    0,
                    None,
                    None,
                    None,
                    None,
                    None,
                    source="config",
                    source_files=[config_file_name(settings)],
                )
            )
    if as_json:
        for health in healths:
            click.echo(json.dumps(asdict(health)))
    else:
        _print_table(healths)
    sys.exit(1 if any(h.status in ("unhealthy", "disabled") for h in healths) else 0)


def _source_label(health: FeedHealth) -> str:
    if not health.source:
        return "-"
    kinds = health.source.split("+")
    return "+".join(f"{k}:{Path(f).name}" for k, f in zip(kinds, health.source_files, strict=False))


def _print_table(healths: list[FeedHealth]) -> None:
    if not healths:
        click.echo("no feeds (configure [[feeds]] or run `newsbot feeds import FILE.opml`)")
        return
    click.echo(
        f"{'STATUS':<10} {'FAILS':>5} {'STORED':>6} {'NEW':>4} {'OLD':>4}  "
        f"{'LAST SUCCESS':<20} {'NEXT CHECK':<20} {'SOURCE':<24} FEED"
    )
    for health in healths:
        new = health.last_poll.get("new", "-")
        old = health.last_poll.get("too_old", "-")
        click.echo(
            f"{health.status:<10} {health.consecutive_failures:>5} {health.stored:>6} "
            f"{new:>4} {old:>4}  {health.last_success or '-':<20} {health.next_check or '-':<20} "
            f"{_source_label(health):<24} {health.url}"
        )
        if health.last_error:
            click.echo(f"{'':<11}{health.last_error_class or 'error'}: {health.last_error}")
    click.echo(
        "STORED: entries stored now; NEW, OLD: entries the last parsed body added, and items "
        "it skipped as older than daemon.retention_days"
    )


@feeds_command.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def import_command(ctx: click.Context, file: Path) -> None:
    """Add the feeds of an OPML file (from another feed reader) to the database.

    They are polled with the configured ones until `newsbot feeds remove URL`; a removed feed
    imported again is polled again.
    """
    try:
        result = parse_opml(read_at_most(file, MAX_OPML_BYTES))
    except (OpmlError, FileTooLarge) as exc:
        fail(f"{file}: {exc}")
    except OSError as exc:
        fail(f"{file}: cannot read: {exc.strerror or exc}")
    with app(ctx).database().session() as session:
        report = import_feeds(
            session,
            [(feed.url, feed.title) for feed in result.feeds],
            str(file.resolve()),
            datetime.now(UTC),
        )
    for reason in result.skipped:
        click.echo(f"newsbot feeds import: {file}: skipped {mask_urls_in(reason)}", err=True)
    restored = f", {plural(report.restored, 'removed feed')} restored" if report.restored else ""
    click.echo(
        f"{plural(report.added, 'feed')} added{restored}, {report.present} already present, "
        f"{len(result.skipped)} skipped"
    )


@feeds_command.command("remove")
@click.argument("url")
@click.pass_context
def remove_command(ctx: click.Context, url: str) -> None:
    """Stop polling a feed added by `newsbot feeds import`; its entries are kept until
    retention (daemon.retention_days) deletes them.

    A feed listed in the configuration file is removed by deleting its [[feeds]] entry there
    (then restart, or send the daemon SIGHUP). URL may be given as `newsbot feeds` lists it,
    credentials masked. Exits 1 when no feed has this URL, 2 when the configuration lists it.
    """
    settings = app(ctx).settings()
    rows, _ = _stored_feeds(ctx)
    url = _unmasked(url, [configured.url for configured in settings.feeds], rows)
    if any(configured.url == url for configured in settings.feeds):
        fail(
            f"{mask_url(url)} is listed in the configuration file {config_file_name(settings)}: "
            "remove its [[feeds]] entry there, then restart newsbot or send the daemon SIGHUP",
            code=EXIT_CONFIG,
        )
    with app(ctx).database().session() as session:
        try:
            removed = remove_feed(session, url, datetime.now(UTC))
        except FeedRemovalError as exc:
            fail(mask_urls_in(str(exc)), code=EXIT_CONFIG if exc.configured else 1)
    click.echo(
        f"removed {mask_url(removed.url)}: no longer polled nor exported; its "
        f"{plural(removed.entries, 'entry is', 'entries are')} kept until retention deletes them"
    )


def _unmasked(url: str, configured: list[str], rows: list[FeedRow]) -> str:
    """The URL to remove: as given, or, when it is how `newsbot feeds` lists a feed (its
    credentials masked), that feed's URL, so a listed URL can be copied as shown."""
    if MASK not in url:
        return url
    known = {*configured, *(u for row in rows for u in (row.url, row.configured_url) if u)}
    matches = {candidate for candidate in known if mask_url(candidate) == url}
    return matches.pop() if len(matches) == 1 else url


@feeds_command.command("export")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
@click.pass_context
def export_command(ctx: click.Context, output: Path | None) -> None:
    """Write every feed polled (configured and imported) as an OPML 2.0 document.

    A feed that moved (301/308) is written once, with its current URL. Removed feeds, and
    feeds dropped from the configuration, are left out. URLs are written whole, credentials
    included, so that another reader can poll them: treat the file as a secret.
    """
    if output is not None:
        require_folder_of(output, "--output")
    settings = app(ctx).settings()
    stored, _ = _stored_feeds(ctx)
    moved = {
        f.configured_url: f.url for f in stored if f.configured_url and f.configured_url != f.url
    }
    listed: dict[str, OpmlFeed] = {}
    for configured in settings.feeds:
        url = moved.get(configured.url, configured.url)
        listed[url] = OpmlFeed(url=url, title=configured.name)
    for feed in stored:
        if feed.url in listed or feed.removed_at is not None or feed.imported_from is None:
            continue  # listed above, removed, or no longer configured
        listed[feed.url] = OpmlFeed(url=feed.url, title=feed.name or feed.title)
    document = render_opml(listed.values())
    if output is None:
        click.echo(document, nl=False)
    else:
        with writing(output, "--output"):
            output.write_bytes(document)
        click.echo(f"{plural(len(listed), 'feed')} written to {output}", err=True)
