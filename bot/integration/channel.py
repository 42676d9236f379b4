"""The channel extension point: what a digest destination (Slack, email, a webhook) implements.

Like httpx's ``BaseTransport.handle_request``, a channel is a few documented members, and the
worker's outbox knows nothing else about it:

- :meth:`Channel.render` turns a composed digest into the outbox *payload*: plain JSON data,
  stored with the outbox row before any delivery attempt, so a retry or a restart sends exactly
  what was composed. Pure: no I/O, no secrets.
- :meth:`Channel.send` delivers one stored payload. Secrets are resolved here, not before, so
  composing and previewing need none.
- :attr:`Channel.supports_updates` says whether a posted story can be updated in place (a reply
  in its thread, or an edit); then :meth:`Channel.render_update` renders that update.

The registry that maps a channel ``type`` to its settings class and its channel is
:mod:`bot.integration.registry`.

Error contract of :meth:`Channel.send` (the classes of :mod:`bot.integration.errors`; it raises
nothing else for a failed delivery):

- :class:`TransientDeliveryError`: nothing, or not all, was delivered, and trying again later may
  work (rate limit, 5xx, SMTP 4xx, a connection refused or dropped *before* the request was
  sent). ``retry_after`` is the wait the receiver asked for. The outbox backs off and retries.
- :class:`PermanentDeliveryError`: retrying cannot help until someone changes the configuration
  (bad credentials, unknown channel, a 4xx, a secret missing from the environment). The row
  fails loudly; its stories come back in the channel's next digest.
- :class:`AmbiguousDeliveryError`: *unknown, in doubt* - the request may have arrived (a timeout
  or a dropped connection after the body was sent). ``verifiable`` says whether the channel can
  find out later (Slack with a bot token reads the channel's history); an unverifiable one is
  marked ``unknown`` and never sent again unless the operator says so
  (``newsbot digests --resend ID``).

A multi-part payload records the parts delivered in :attr:`DeliveryRecord.progress` (through
:meth:`DeliveryRecord.save_progress`) so that a retry resumes after them; :func:`post_once`
wraps one request that must not be repeated blindly.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from bot.config.settings import SecretUnavailable
from bot.integration.errors import AmbiguousDeliveryError, DeliveryError, PermanentDeliveryError
from bot.model import Digest, DigestStory

log = logging.getLogger(__name__)

Payload = dict[str, Any]
T = TypeVar("T")

# A request in doubt is looked up no sooner than this many client timeouts after it was sent
# (20 s with Slack's default `[channels.slack] timeout` of 10 s), so that a request the receiver
# is still working on is not taken for a lost one.
AMBIGUOUS_SETTLE_TIMEOUTS = 2
# How far before the request in doubt the receiver is searched: its clock and ours differ.
LOOKUP_CLOCK_MARGIN = timedelta(minutes=5)


def ambiguous_settle(timeout_s: float) -> timedelta:
    """How long after it was sent a request in doubt is looked up, for a client timeout."""
    return timedelta(seconds=AMBIGUOUS_SETTLE_TIMEOUTS * timeout_s)


class DeliveryRecord(Protocol):
    """The outbox row being delivered, as a channel sees it: given to :meth:`Channel.send`."""

    @property
    def id(self) -> int:
        """The outbox row's id (for log lines)."""
        ...

    @property
    def key(self) -> str:
        """The row's idempotency key: unique per row and the same at every attempt."""
        ...

    @property
    def progress(self) -> Mapping[str, Any]:
        """What earlier attempts recorded with :meth:`save_progress` (empty at first)."""
        ...

    def now(self) -> datetime:
        """The outbox's clock."""
        ...

    def save_progress(
        self, progress: dict[str, Any], *, posted: tuple[Sequence[int], str] | None = None
    ) -> None:
        """Store ``progress`` with the row at once (it survives a crash). ``posted``: the story
        ids of the part just delivered and the reference of the message they are in (for
        updates), stored in the same transaction."""
        ...


class Channel(Protocol):
    """One configured digest destination. See the module docstring for the error contract."""

    @property
    def supports_updates(self) -> bool:
        """Whether posted stories are updated in place (then :meth:`render_update` is used)."""
        ...

    def render(self, digest: Digest) -> Payload:
        """The outbox payload of ``digest``: JSON data with a ``format`` key. No I/O."""
        ...

    def render_update(
        self, story: DigestStory, ref: str, posted: Callable[[], Mapping[str, Any] | None]
    ) -> Payload | None:
        """The payload updating ``story``, posted earlier as message ``ref``; ``posted()`` reads
        that message as it was stored. None: nothing to update in place (the next digest
        reports the story instead). Only called when :attr:`supports_updates`."""
        ...

    async def send(self, payload: Payload, record: DeliveryRecord) -> dict[str, Any]:
        """Deliver ``payload`` (made by this channel's :meth:`render` or :meth:`render_update`);
        returns details for the attempt's record. Raises only :class:`DeliveryError` subclasses
        for a failed delivery, classified as the module docstring says."""
        ...


def secret_failure(channel: str, section: str, exc: SecretUnavailable) -> PermanentDeliveryError:
    """A secret missing at delivery (the environment of this process lacks it): retrying in
    this process cannot help, so the attempt fails permanently, naming the key."""
    return PermanentDeliveryError(
        f"channel {channel}: {section}.{exc.key}: {exc.problem}", code="secret_unavailable"
    )


def foreign_payload(channel: str, kind: str, payload: Payload) -> PermanentDeliveryError:
    """A payload this channel did not render: queued before the channel's type was changed."""
    return PermanentDeliveryError(
        f"channel {channel}: cannot send a payload of format {payload.get('format')!r} to a "
        f"{kind} channel (queued before the channel's type was changed)",
        code="foreign_payload",
    )


async def post_once(
    record: DeliveryRecord,
    part: int,
    post: Callable[[], Awaitable[T]],
    *,
    where: str,
    timeout_s: float,
    find: Callable[[datetime], Awaitable[T | None]] | None = None,
) -> T:
    """Make request ``part`` of ``record`` with ``post()``, unless an earlier attempt left it in
    doubt and it did arrive.

    The part is recorded as in doubt (``progress["in_doubt"]``: which part, since when) before
    the request, and stays so when the request ends ambiguously; the caller's next
    :meth:`DeliveryRecord.save_progress` clears it. A part still in doubt when the row is next
    delivered (a retry, or a restart after a crash) is never sent again blindly: with ``find``
    (a look-up of the request in the receiver since a time) it is looked up once
    AMBIGUOUS_SETTLE_TIMEOUTS times the client's ``timeout_s`` have passed, and sent again only
    when not found; without, it raises an
    unverifiable :class:`AmbiguousDeliveryError` and the row becomes ``unknown``."""
    progress = dict(record.progress)
    in_doubt = progress.get("in_doubt")
    if isinstance(in_doubt, dict) and in_doubt.get("part") == part:
        since = datetime.fromisoformat(str(in_doubt["since"]))
        if find is None:
            raise AmbiguousDeliveryError(
                f"{where}: an earlier attempt ended before the receiver answered (a timeout, a "
                "dropped connection or a crash while the request was in flight); it may or may "
                "not have been posted",
                verifiable=False,
            )
        settled = since + ambiguous_settle(timeout_s)
        now = record.now()
        if now < settled:
            raise AmbiguousDeliveryError(
                "a post of an earlier attempt is in doubt; looked up when it has settled",
                code="settling",
                verifiable=True,
                retry_after=(settled - now).total_seconds(),
            )
        found = await find(since - LOOKUP_CLOCK_MARGIN)
        if found is not None:
            log.info(
                "digest %d: part %d in doubt was posted; not posted again",
                record.id,
                part + 1,
                extra={"digest": record.id},
            )
            return found
        log.info(
            "digest %d: part %d in doubt is not in the channel; posting it",
            record.id,
            part + 1,
            extra={"digest": record.id},
        )
    record.save_progress(
        {**progress, "in_doubt": {"part": part, "since": record.now().isoformat()}}
    )
    try:
        return await post()
    except AmbiguousDeliveryError:
        raise  # still in doubt
    except DeliveryError:
        record.save_progress({k: v for k, v in progress.items() if k != "in_doubt"})
        raise
