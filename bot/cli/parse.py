"""`newsbot parse FILE_OR_URL...`: print a feed's normalised entries as JSON lines.

Files are read from disk, URLs fetched with the daemon's :class:`bot.reader.fetcher.Fetcher`
(with the configured fetch settings when ``--config`` is given); both go through
:func:`bot.reader.parser.parse_feed`, the daemon's own parser, so what this prints is what the
daemon would store.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from bot.cli.common import app
from bot.config.settings import FetchSettings
from bot.model import Entry, FetchOutcome, FetchStatus
from bot.reader.fetcher import FeedRequest, Fetcher
from bot.reader.parser import FeedParseError, parse_feed
from bot.text.bounded import FileTooLarge, read_at_most
from bot.text.redaction import mask_url, mask_urls_in

# What reads as a URL (RFC 3986's scheme, then "://"): of other schemes than http and https it is
# not taken for a file name.
_URL = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)


def _is_url(target: str) -> bool:
    return target.lower().startswith(("http://", "https://"))


def _unsupported_scheme(target: str) -> str | None:
    """The scheme of a target that reads as a URL this command cannot fetch (ftp://, file://),
    unless a file of that name exists."""
    found = _URL.match(target)
    if found is None or _is_url(target) or Path(target).exists():
        return None
    return found.group(1)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def entry_record(entry: Entry, *, feed: str, with_text: bool) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": entry.identity,
        "title": entry.title,
        "link": entry.link,
        "published": _iso(entry.published),
        "updated": _iso(entry.updated),
        "source": entry.source,
        "author": entry.author,
        "categories": entry.categories,
        "guid": entry.guid,
        "summary": entry.summary,
        "feed": feed,
    }
    if with_text:
        record["text"] = entry.text
    return record


async def _fetch_all(urls: list[str], settings: FetchSettings) -> dict[str, FetchOutcome]:
    async with Fetcher(settings) as fetcher:
        outcomes = await fetcher.fetch_many([FeedRequest(url) for url in urls])
    return dict(zip(urls, outcomes, strict=True))


def _fetch_settings(ctx: click.Context) -> FetchSettings:
    context = app(ctx)
    return context.settings().fetch if context.config_path else FetchSettings()


@click.command("parse")
@click.argument("targets", metavar="FILE_OR_URL...", nargs=-1, required=True)
@click.option("--text", "with_text", is_flag=True, help="Include each entry's cleaned full text.")
@click.option("--name", "source_name", help="Outlet name for entries that name none.")
@click.pass_context
def parse_command(
    ctx: click.Context, targets: tuple[str, ...], with_text: bool, source_name: str | None
) -> None:
    """Print the normalised entries of each feed as JSON lines (one object per entry).

    A target that cannot be read as a feed gets a one-line error on stderr and the command goes
    on with the next one; the exit status is 1 if any target failed, else 0.
    """
    urls = [target for target in targets if _is_url(target)]
    fetch_settings = _fetch_settings(ctx)
    fetched = asyncio.run(_fetch_all(urls, fetch_settings)) if urls else {}
    failed = False
    for target in targets:
        now = datetime.now(UTC)
        content_type: str | None = None
        if _is_url(target):
            outcome = fetched[target]
            if outcome.status is not FetchStatus.OK or outcome.body is None:
                reason = outcome.error_message or outcome.status.value
                click.echo(
                    f"newsbot parse: {mask_url(target)}: {outcome.error_class}: "
                    f"{mask_urls_in(reason)}",
                    err=True,
                )
                failed = True
                continue
            body, url, content_type = (
                outcome.body,
                outcome.final_url or target,
                outcome.content_type,
            )
        elif (scheme := _unsupported_scheme(target)) is not None:
            click.echo(
                f"newsbot parse: {mask_url(target)}: unsupported URL scheme {scheme!r} "
                "(expected http or https, or a file path)",
                err=True,
            )
            failed = True
            continue
        else:
            path = Path(target)
            try:
                # No larger than a fetched body may be (fetch.max_body_bytes).
                body = read_at_most(path, fetch_settings.max_body_bytes)
            except FileTooLarge as exc:
                click.echo(f"newsbot parse: {target}: cannot read: {exc}", err=True)
                failed = True
                continue
            except OSError as exc:
                reason = exc.strerror or str(exc)
                if isinstance(exc, FileNotFoundError) and ":" in target:
                    reason += " (a URL must start with http:// or https://)"
                click.echo(f"newsbot parse: {target}: cannot read: {reason}", err=True)
                failed = True
                continue
            url = path.resolve().as_uri()
        try:
            parsed = parse_feed(
                body, url=url, now=now, source_name=source_name, content_type=content_type
            )
        except FeedParseError as exc:
            click.echo(
                f"newsbot parse: {mask_url(target)}: {exc.kind}: {mask_urls_in(exc.reason)}",
                err=True,
            )
            failed = True
            continue
        for entry in parsed.entries:
            record = entry_record(entry, feed=mask_url(target), with_text=with_text)
            click.echo(json.dumps(record))
    sys.exit(1 if failed else 0)
