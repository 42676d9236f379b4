"""Logging set-up: readable lines or JSON (python-json-logger), with secrets redacted.

Loggers are named after their module (`logging.getLogger(__name__)`: `bot.worker.poll`,
`bot.daemon.app`), one scheme, so `logger` tells where a line comes from.

Secrets (webhook URLs, tokens, passwords, credentials in feed and database URLs) are registered
once from the configuration and replaced in every record, whatever code path logged them; every
URL in a record (its message, its traceback and the fields passed in ``extra=``) is masked by
:func:`bot.text.redaction.mask_url`, so a feed added by OPML import, whose URL the configuration
does not know, is masked as well.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

from bot.text.redaction import mask_urls_in

_SECRETS: set[str] = set()
REDACTED = "***"


def register_secrets(values: Iterable[str | None]) -> None:
    for value in values:
        if value and len(value) >= 6:
            _SECRETS.add(value)


def redact(text: str) -> str:
    """``text`` fit to log or show: URLs masked, registered secrets replaced."""
    text = mask_urls_in(text)
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    return text


# The attributes every LogRecord has; any other is a field passed in `extra=`.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: the formatter reports it through handleError
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES and isinstance(value, str):
                setattr(record, name, redact(value))
        return True


class UtcJsonFormatter(JsonFormatter):
    """One JSON object per line: `time` in ISO 8601 UTC with its zone
    (2025-01-31T08:00:00.123+00:00), `level`, `logger` (the module: `bot.worker.poll`),
    `message`, and whatever the call passed in `extra=` as fields of their own (`feed`, the
    feed's URL; `story`, a story id; `channel`, a channel name; `digest`, an outbox id)."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


def configure_logging(level: str = "INFO", json_format: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_format:
        handler.setFormatter(
            UtcJsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        text = logging.Formatter(
            "%(asctime)s.%(msecs)03dZ %(levelname)-7s %(name)s: %(message)s",
            datefmt="%Y-%m-%dT%H:%M:%S",
        )
        text.converter = time.gmtime  # UTC, marked Z, like the JSON lines
        handler.setFormatter(text)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler logs every job run at INFO; our jobs log their own outcome, so its lines are
    # noise except when debugging. Its warnings (misfires, skipped runs) still show.
    logging.getLogger("apscheduler").setLevel(
        logging.DEBUG if logging.getLevelName(level) == logging.DEBUG else logging.WARNING
    )
