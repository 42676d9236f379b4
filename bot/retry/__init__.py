"""The one retry policy: exponential backoff with "equal jitter", as a pure function of the attempt.

Every retry in newsbot waits ``exponential_backoff(attempt, base_s=..., cap_s=...)``: ``base_s``
doubling per attempt (from 1), capped at ``cap_s``, and with jitter a uniform draw from the upper
half of that (half fixed, half random), so that instances or feeds that failed together do not
retry together and a wait is never shorter than half the schedule. Its callers, each with its
constants named where it is used:

* a digest in the outbox (:mod:`bot.worker.outbox`): 30 s doubling up to an hour;
* a feed that failed (:func:`bot.reader.fetcher.schedule.failure_backoff`): the feed's interval
  doubling up to ``fetch.max_interval``, ``Retry-After`` a lower bound;
* the daemon's jobs and probes while the database is unreachable (:mod:`bot.daemon.app`):
  ``daemon.db_retry_delay`` doubling up to a few tens of seconds.

Why written by hand rather than with ``tenacity`` or ``stamina``: both are decorators or context
managers that run a call again in-process, sleeping between tries. Two of our three retries are
not in-process loops: an outbox row's and a feed's next attempt are *stored*
(``next_attempt_at``, ``next_check_at``) and made by a later job, maybe by another instance
after a restart, with the attempt count read back from the row. What they need is the delay for
attempt N, which neither library offers as a plain function (tenacity's ``wait_*`` strategies
take a ``RetryCallState``; stamina computes its waits internally). The daemon's in-process loops
also do more between tries than a decorator allows (they start the database watcher, count a
metric, stop early on shutdown). So one function of a few lines is the policy, and no dependency
is added for it.
"""

from __future__ import annotations

import random

# With jitter, a wait is drawn from [JITTER_FLOOR * ceiling, ceiling] ("equal jitter").
JITTER_FLOOR = 0.5
# Doublings counted at most: past the cap they change nothing, and 2.0 ** n stays finite.
MAX_DOUBLINGS = 64


def exponential_backoff(
    attempt: int,
    *,
    base_s: float,
    cap_s: float,
    jitter: bool = True,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (1-based; less counts as 1): `base_s`
    doubling per attempt up to `cap_s`, with "equal jitter" unless `jitter` is False."""
    doublings = min(max(attempt, 1) - 1, MAX_DOUBLINGS)
    ceiling = min(float(cap_s), float(base_s) * 2.0**doublings)
    if not jitter:
        return ceiling
    return ceiling * (rng or random).uniform(JITTER_FLOOR, 1.0)
