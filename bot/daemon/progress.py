"""Poll progress: a rich progress bar with outcome counts on a terminal, log lines otherwise."""

from __future__ import annotations

import logging
import sys
from collections import Counter
from types import TracebackType
from typing import TYPE_CHECKING

from bot.text.plural import plural
from bot.text.redaction import mask_url, mask_urls_in

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

    from bot.worker.record import FeedResult

log = logging.getLogger(__name__)


class PollProgress:
    def __init__(
        self, total: int, *, interactive: bool | None = None, console: Console | None = None
    ) -> None:
        self.total = total
        self.console = console
        self.counts: Counter[str] = Counter()
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self._progress: Progress | None = None
        self._task: int | None = None

    def __enter__(self) -> PollProgress:
        if self.interactive:
            # rich only for a terminal: `newsbot poll` from cron need not load it (~50 ms).
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("polling"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[counts]}"),
                TimeElapsedColumn(),
                console=self.console or Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task("poll", total=self.total, counts="")
        return self

    def advance(self, result: FeedResult) -> None:
        self.counts[result.outcome] += 1
        if self._progress is not None and self._task is not None:
            counts = " ".join(f"{k}={v}" for k, v in sorted(self.counts.items()))
            self._progress.update(self._task, advance=1, counts=counts)  # type: ignore[arg-type]
        elif result.outcome == "error":
            log.warning(
                "%s: %s (%s)",
                mask_url(result.url),
                result.error_class,
                mask_urls_in(result.error or ""),
                extra={"feed": mask_url(result.url), "error_class": result.error_class},
            )
        else:
            log.info(
                "%s: %s, %s",
                mask_url(result.url),
                result.outcome,
                plural(result.new_entries, "new entry", "new entries"),
                extra={"feed": mask_url(result.url)},
            )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
