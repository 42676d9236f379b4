"""Operator commands: check, db, poll, digest, digests, stories, run, demo."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.common import EXIT_CONFIG, EXIT_INTERRUPTED, app, fail, setup_logging
from bot.cli.output import make_folder, require_folder_of, writing
from bot.config.loader import config_warnings, masked_dump
from bot.text.plural import plural
from bot.text.redaction import mask_urls_in

if TYPE_CHECKING:
    from bot.daemon.pipeline import Pipeline

log = logging.getLogger(__name__)

# How many rows a listing may ask for (`stories --limit`, `digests --limit`): more than anyone
# reads, and within what every database accepts as a LIMIT.
MAX_LISTED = 1_000_000
LISTING_LIMIT = click.IntRange(1, MAX_LISTED)
# A stored row id: the databases' 64-bit signed integer column.
ROW_ID = click.IntRange(1, 2**63 - 1)


def _logging(ctx: click.Context) -> None:
    """Logging for a command that reads the configuration (poll, digest, run): the level and
    format it sets unless --log-level / --log-json say otherwise. A configuration that cannot be
    loaded ends the command here, said once."""
    obj = app(ctx)
    level = obj.log_level
    json_format = obj.log_json
    if level is None:
        level = obj.settings().daemon.log_level
        json_format = json_format or obj.settings().daemon.log_format == "json"
    setup_logging(level.upper(), json_format)


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def check(ctx: click.Context, file: Path | None) -> None:
    """Validate a configuration and print it resolved, with secrets masked.

    FILE defaults to --config / $NEWSBOT_CONFIG. Exits 2 when the configuration is invalid.
    """
    obj = app(ctx)
    if file is not None:
        obj.config_path = file
    settings = obj.require_secrets()
    from bot.matcher import RuleError, load_rules

    try:
        rules = load_rules(settings.rules)
    except RuleError as exc:
        fail(str(exc), code=EXIT_CONFIG, prefix="rules error")
    for channel in settings.channels:
        if channel.rules:
            try:
                load_rules(Path(channel.rules))
            except RuleError as exc:
                fail(str(exc), code=EXIT_CONFIG, prefix="rules error")
    data = masked_dump(settings)
    click.echo(json.dumps(data, indent=2, default=str))
    for warning in config_warnings(settings):
        click.echo(f"newsbot: warning: {warning}", err=True)
    click.echo(
        f"OK: {settings.source or 'defaults'}: {plural(len(settings.feeds), 'feed')}, "
        f"{plural(len(settings.channels), 'channel')}, {plural(len(rules.rules), 'rule')}",
        err=True,
    )


@click.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> None:
    """Create or migrate the database schema (the daemon also does this on start)."""
    from bot.storage.database import current_revision

    database = app(ctx).database(revision=revision)
    click.echo(f"database at revision {current_revision(database)}")


@click.command()
@click.option("--all", "force", is_flag=True, help="Check every feed now, due or not.")
@click.pass_context
def poll(ctx: click.Context, force: bool) -> None:
    """Run one poll cycle: fetch due feeds, store new entries, match and cluster them."""
    _logging(ctx)
    from bot.daemon.pipeline import build_pipeline
    from bot.daemon.progress import PollProgress
    from bot.storage.feeds import count_enabled_feeds, release_leases

    settings = app(ctx).settings()
    db = app(ctx).database()  # an unreachable database ends the command first, in one line
    for warning in config_warnings(settings):
        log.warning("%s", warning)
    pipeline = build_pipeline(settings, db=db, upgrade=False, long_lived=False)
    # The database lists configured and OPML-imported feeds; those dropped from the
    # configuration are no longer polled (logged one per feed).
    pipeline.poller.sync_config()
    with pipeline.db.session() as session:
        feeds = count_enabled_feeds(session)
    if not feeds:
        fail(
            "no feeds to poll (add [[feeds]] entries to the configuration "
            "or run `newsbot feeds import FILE.opml`)",
            code=EXIT_CONFIG,
        )
    with PollProgress(total=feeds) as progress:
        try:
            report = asyncio.run(
                pipeline.poller.poll(force=force, on_feed=progress.advance, synced=True)
            )
        except KeyboardInterrupt:
            # The feeds this run claimed and did not store are free for the next poll at once,
            # not when their leases run out (minutes on): nothing of them was stored.
            with pipeline.db.session() as session:
                release_leases(session, pipeline.instance)
            stored = sum(progress.counts.values())
            fail(
                f"{plural(stored, 'feed')} of {feeds} checked and stored; the next poll checks "
                "the others and matches and clusters what is not yet",
                code=EXIT_INTERRUPTED,
                prefix="interrupted",
            )
    click.echo(report.summary())
    sys.exit(1 if report.feeds and all(r.outcome == "error" for r in report.feeds) else 0)


@contextmanager
def _outbox_takeover(pipeline: Pipeline) -> Iterator[None]:
    """Let this run resend a digest whose sender died mid-delivery, without waiting out its
    lease: on PostgreSQL, announce this process and free the leases of instances that are gone;
    on SQLite, when no daemon holds the database lock, hold it and free every lease (their
    holders are dead)."""
    from bot.daemon.instances import Presence, release_digest_leases
    from bot.daemon.sqlite_guard import SingleInstanceLock
    from bot.storage.database import sqlite_file

    if not pipeline.db.is_sqlite:
        presence = Presence(pipeline.db, pipeline.instance)
        presence.reclaim(datetime.now(UTC))
        try:
            yield
        finally:
            presence.close()
        return
    database = sqlite_file(pipeline.db.url)
    if database is None:
        yield
        return
    lock = SingleInstanceLock(database)
    try:
        lock.acquire()
    except RuntimeError:  # a daemon is running: its leases are live
        yield
        return
    try:
        release_digest_leases(pipeline.db, None)
        yield
    finally:
        lock.release()


@click.command()
@click.option("--channel", "channel_name", help="Channel name (default: every channel).")
@click.option("--dry-run", is_flag=True, help="Print what would be sent; store and send nothing.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "slack", "email"]),
    help="Preview format (default: text). Implies --dry-run.",
)
@click.option(
    "--html",
    "html_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the email's HTML to this file (one file per channel, FILE.<channel>.html, "
    "when several channels are previewed). Implies --dry-run.",
)
@click.pass_context
def digest(
    ctx: click.Context,
    channel_name: str | None,
    dry_run: bool,
    fmt: str | None,
    html_file: Path | None,
) -> None:
    """Compose the digest of stories new since each channel's last digest, and deliver it.

    Stories already posted to a channel are not posted again; a story that gained sources
    since comes back marked as updated.

    A preview never delivers: --format and --html imply --dry-run, so nothing is stored or sent
    when either is given.

    Exits 1 when a channel's digest was not delivered: queued for a retry (the daemon, or the
    next `newsbot digest`, sends it), failed, or in doubt (see `newsbot digests`), or when an
    earlier digest of the channel still waits for its retry; 0 when every channel's digests were
    sent or there was nothing to send.
    """
    _logging(ctx)
    from bot.daemon.pipeline import build_pipeline
    from bot.digest.render import render_email_html

    preview = dry_run or fmt is not None or html_file is not None
    if html_file is not None:
        require_folder_of(html_file, "--html")
    # A preview sends nothing, so it runs without the channels' secrets.
    settings = app(ctx).settings() if preview else app(ctx).require_secrets()
    if not settings.channels:
        fail("no channels configured (add [[channels]] entries to the configuration)", code=2)
    try:
        names = (
            [settings.channel(channel_name).name]
            if channel_name
            else [c.name for c in settings.channels]
        )
    except KeyError as exc:
        fail(str(exc.args[0]), code=EXIT_CONFIG)
    pipeline = build_pipeline(settings, db=app(ctx).database(), upgrade=False)
    if preview:
        for name in names:
            composed, text = pipeline.digests.preview(name, fmt)
            click.echo(f"--- {name} (dry run: nothing stored or sent) ---")
            click.echo(text)
            if html_file is not None:
                target = html_file if len(names) == 1 else _per_channel(html_file, name)
                with writing(target, "--html"):
                    target.write_text(render_email_html(composed), encoding="utf-8")
                click.echo(f"HTML written to {target}", err=True)
        sys.exit(0)
    from bot.storage.digests import count_undelivered

    undelivered = False
    with _outbox_takeover(pipeline):
        for name in names:
            run = asyncio.run(pipeline.digests.run(name, kind="manual"))
            stories = len(run.digest.stories) if run.digest else 0
            done = run.status in DELIVERED_OR_NOTHING_TO_SEND
            waiting = 0
            if done:  # this run's digest is not among those still waiting
                with pipeline.db.session() as session:
                    waiting = count_undelivered(session, name)
            click.echo(
                f"{name}: {run.status} ({plural(stories, 'story', 'stories')})"
                + (f": {mask_urls_in(run.error)}" if run.error else "")
                + (
                    f"; delivered {plural(len(run.delivered_earlier), 'earlier queued digest')}"
                    if run.delivered_earlier
                    else ""
                )
                + (
                    f"; {plural(waiting, 'earlier digest')} still undelivered (see newsbot digests)"
                    if waiting
                    else ""
                )
            )
            undelivered = undelivered or not done or waiting > 0
    sys.exit(1 if undelivered else 0)


# How a channel's digest run ends well (bot.worker.digests.DigestRun.status): delivered, nothing
# new to send, or this period's digest already stored. Any other (queued for a retry, failed, in
# doubt) makes `newsbot digest` exit 1, so that cron sees it.
DELIVERED_OR_NOTHING_TO_SEND = frozenset({"sent", "empty", "already_done"})


def _per_channel(path: Path, channel: str) -> Path:
    """``digest.html`` -> ``digest.<channel>.html``: one preview file per channel."""
    return path.with_name(f"{path.stem}.{channel}{path.suffix or '.html'}")


@click.command()
@click.option(
    "--limit",
    type=LISTING_LIMIT,
    default=20,
    show_default=True,
    help="How many digests to list.",
)
@click.option(
    "--resend",
    "resend_id",
    type=ROW_ID,
    metavar="ID",
    help="Post again a digest whose delivery is unknown (a Slack post in doubt), once you have "
    "checked the channel and it did not arrive; parts Slack acknowledged are not posted again.",
)
@click.pass_context
def digests(ctx: click.Context, limit: int, resend_id: int | None) -> None:
    """List recent digests with their delivery status, attempts and last error.

    A digest whose status is "unknown" had a Slack post in doubt (the connection timed out or
    dropped after the message was sent, or newsbot died while it was in flight) that Slack
    could not be asked about: it is not posted again unless you say so with --resend ID."""
    from bot.storage.digests import recent_digests

    if resend_id is not None:
        _resend(ctx, resend_id)
        return
    database = app(ctx).database()
    with database.session() as session:
        rows = recent_digests(session, limit)
        if not rows:
            click.echo("no digests yet")
        for row in rows:
            error = f"  last error: {mask_urls_in(row.last_error)}" if row.last_error else ""
            click.echo(
                f"#{row.id} {row.channel:<16} {row.status:<9} "
                f"{plural(row.story_count, 'story', 'stories'):>11}  "
                f"{plural(row.attempts, 'attempt')}  created {row.created_at:%Y-%m-%d %H:%M}Z  "
                f"period {row.period_key}{error}"
            )
        unknown = [row.id for row in rows if row.status == "unknown"]
        if unknown:
            listed = ", ".join(f"#{i}" for i in unknown)
            click.echo(
                f"delivery unknown: {listed}: a post may or may not have arrived. Check "
                "the channel; if it did not, run `newsbot digests --resend ID`."
            )


def _resend(ctx: click.Context, digest_id: int) -> None:
    from bot.daemon.pipeline import build_pipeline
    from bot.storage.digests import digest_status

    settings = app(ctx).require_secrets()
    pipeline = build_pipeline(settings, db=app(ctx).database(), upgrade=False)
    queued = pipeline.digests.resend(digest_id)
    if queued is None:
        with pipeline.db.session() as session:
            status = digest_status(session, digest_id)
        if status is None:
            fail(f"no digest #{digest_id} (see `newsbot digests`)")
        fail(
            f"digest #{digest_id} is {status}, not one whose delivery is unknown: only those are "
            "resent (see `newsbot digests`)"
        )
    channel, _ = queued
    with _outbox_takeover(pipeline):
        results = asyncio.run(pipeline.digests.deliver_due(channel))
    status, error = next(((s, e) for i, s, e in results if i == digest_id), ("queued", None))
    click.echo(f"#{digest_id} {channel}: {status}" + (f": {error}" if error else ""))
    sys.exit(0 if status == "sent" else 1)


@click.command()
@click.option(
    "--limit",
    type=LISTING_LIMIT,
    default=20,
    show_default=True,
    help="How many stories to show.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per story.")
@click.option(
    "--why",
    is_flag=True,
    help="Also show the relevance rules that matched each story's reports, and on which terms.",
)
@click.pass_context
def stories(ctx: click.Context, limit: int, as_json: bool, why: bool) -> None:
    """Show the most recently updated stories and their sources."""
    from bot.storage.stories import rule_reasons, stories_updated_since, story_view

    database = app(ctx).database()
    with database.session() as session:
        rows = stories_updated_since(session, None, limit)
        records = [(story_view(s), rule_reasons(s)) for s in rows]
    if not records:
        click.echo("no stories yet (run `newsbot poll` first)")
    for record, reasons in records:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "id": record.story_id,
                        "headline": record.headline,
                        "link": record.headline_link,
                        "score": record.score,
                        "first_seen": record.first_seen.isoformat(),
                        "last_updated": record.last_updated.isoformat(),
                        "facts": record.facts.to_json(),
                        "sources": [
                            {"outlet": s.outlet, "link": s.link, "title": s.title}
                            for s in record.sources
                        ],
                        "rules": [
                            {"rule": r.rule, "reports": r.reports, "terms": r.terms}
                            for r in reasons
                        ],
                    },
                    ensure_ascii=False,
                )
            )
            continue
        click.echo(f"[{record.story_id}] {record.headline}")
        click.echo(
            f"    first seen {record.first_seen:%Y-%m-%d %H:%M}Z, "
            f"{plural(len(record.sources), 'source')}, score {record.score:.1f}"
        )
        for source in record.sources:
            click.echo(f"    - {source.outlet}: {source.title}  <{source.link or 'no link'}>")
        if why:
            for reason in reasons:
                shown = ", ".join(reason.terms[:6])
                reports = plural(reason.reports, "report")
                click.echo(f"    why: {reason.rule} ({reports}: {shown})")
            if not reasons:
                click.echo("    why: no rule hits stored (matched before they were kept)")


@click.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Run the daemon: poll feeds and post digests on schedule until SIGTERM or SIGINT."""
    _logging(ctx)
    from bot.daemon.app import run_daemon

    sys.exit(run_daemon(app(ctx).require_secrets()))


@click.command()
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the Slack payload, the email (.eml) and its HTML.",
)
@click.pass_context
def demo(ctx: click.Context, out_dir: Path) -> None:
    """Run the whole pipeline on bundled sample feeds served on 127.0.0.1.

    Nothing leaves this machine: the digest is printed and written to files, not sent.
    """
    # The demo runs without the configuration: only the command line sets its logging.
    setup_logging((app(ctx).log_level or "WARNING").upper(), app(ctx).log_json)
    from bot.demo.runner import run_demo

    make_folder(out_dir, "--out")
    result = run_demo(out_dir, now=datetime.now(UTC), echo=click.echo)
    sys.exit(0 if result.ok else 1)


def register(group: click.Group) -> None:
    for command in (check, db, poll, digest, digests, stories, run, demo):
        group.add_command(command)
