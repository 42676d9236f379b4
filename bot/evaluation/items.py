"""Items as JSON lines, the input of `newsbot cluster` and `newsbot eval`.

One JSON object per line: `id`, `title`, `summary`, optional `text`, `published` (ISO 8601 or
null), `source` (the outlet), `url`, and for labelled items `cluster_id` (the gold story). The
shared data sets under ``../shared/data/stories/`` have this form. A line that is not a usable
item raises :class:`InputError` naming the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clustering.item import ClusterItem
from bot.text.bounded import LineTooLong, bounded_lines

# An item id is stored as an entry's identity or GUID by the commands reading items (a column of
# this width).
MAX_ID_LENGTH = 512


class InputError(ValueError):
    """An input line that is not a usable item; names the file and line."""


@dataclass(frozen=True, slots=True)
class LabelledItem:
    """An item and the gold story it belongs to."""

    item: ClusterItem
    story: str


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


# The fields read as text; each may be absent or null.
TEXT_FIELDS = ("title", "summary", "text", "source", "url")


def _shown(value: Any, limit: int = 60) -> str:
    """A wrong value as a message quotes it: its JSON-ish repr, cut short."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_text_fields(record: dict[str, Any], where: str) -> None:
    for name in TEXT_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise InputError(f"{where}: '{name}' must be a string, got {_shown(value)}")


def _text(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    return value if isinstance(value, str) else ""


def _records(path: Path) -> Iterator[tuple[str, dict[str, Any], ClusterItem]]:
    """(where, the JSON object, its item) per non-blank line, in file order."""
    seen: set[str] = set()
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in bounded_lines(handle):
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
                if len(key) > MAX_ID_LENGTH:
                    raise InputError(f"{where}: 'id' longer than {MAX_ID_LENGTH} characters")
                if key in seen:
                    raise InputError(f"{where}: duplicate id {key!r}")
                seen.add(key)
                _check_text_fields(record, where)
                if not _text(record, "title") and not _text(record, "summary"):
                    raise InputError(f"{where}: item {key!r} has neither 'title' nor 'summary'")
                source, url = record.get("source"), record.get("url")
                item = ClusterItem(
                    key=key,
                    title=_text(record, "title"),
                    summary=_text(record, "summary"),
                    text=_text(record, "text"),
                    published=_published(record.get("published"), where),
                    source=source if isinstance(source, str) else None,
                    url=url if isinstance(url, str) else None,
                )
                yield where, record, item
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except LineTooLong as exc:
        raise InputError(f"{path}: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def read_items(path: Path) -> list[ClusterItem]:
    """Items of a JSON-lines file, in file order; raises InputError naming the bad line."""
    return [item for _, _, item in _records(path)]


def read_labelled(path: Path) -> list[LabelledItem]:
    """Labelled items (each with its `cluster_id`), in file order; raises InputError naming the
    bad line, also for a missing or empty `cluster_id`."""
    labelled: list[LabelledItem] = []
    for where, record, item in _records(path):
        story = record.get("cluster_id")
        if story is None or story == "":
            raise InputError(f"{where}: item {item.key!r} has no 'cluster_id' (its gold story)")
        if isinstance(story, bool) or not isinstance(story, str | int | float):
            raise InputError(
                f"{where}: 'cluster_id' must be a string or number, got {_shown(story)}"
            )
        labelled.append(LabelledItem(item, str(story)))
    return labelled
