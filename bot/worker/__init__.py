"""Orchestration of one poll cycle and one digest run: the stages wired to storage.

The package imports nothing, so that a parser process importing :mod:`bot.worker.parsing`
does not load the digest, clustering and delivery stacks it never uses. Import from the module
that defines a name:

- :mod:`bot.worker.poll`: `Poller`, one poll cycle, and its `PollStats`;
- :mod:`bot.worker.parsing`: parsing a fetched body (in a thread or a parser process);
- :mod:`bot.worker.record`: storing a batch of fetched feeds, `FeedResult`;
- :mod:`bot.worker.process`: `StoryBuilder`, matching and clustering stored entries into
  stories, and its `ProcessStats`;
- :mod:`bot.worker.digests`: `DigestService` and `DigestRun`, composing digests;
- :mod:`bot.worker.outbox`: delivering the outbox, with retry and backoff;
- :mod:`bot.worker.ledger`: keeping the deal ledger up to date;
- :mod:`bot.worker.memory`: the garbage collector's view of a poll cycle.
"""
