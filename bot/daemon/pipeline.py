"""Wiring the stages of one newsbot instance: database, rules, story builder, poller, digests.

Apart from :mod:`bot.daemon.app` (the scheduler, health endpoint, signals) so that a one-shot
`newsbot poll` loads the poll cycle's modules only; the digest stack (rendering, Slack, email) is
imported when a command first uses `Pipeline.digests`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from bot.clustering.config import ClusterConfig
from bot.config import Settings
from bot.daemon.logs import register_secrets
from bot.matcher import RuleSet, load_rules
from bot.storage.database import Database, upgrade_schema
from bot.worker.poll import Poller
from bot.worker.process import StoryBuilder, new_instance_id, utcnow

if TYPE_CHECKING:
    from bot.worker.digests import DigestService


class Pipeline:
    """The stages of one newsbot instance, sharing a database, rules and a clusterer."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        story_builder: StoryBuilder,
        poller: Poller,
        instance: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.story_builder = story_builder
        self.poller = poller
        self.instance = instance
        self.clock = clock

    @functools.cached_property
    def digests(self) -> DigestService:
        from bot.worker.digests import DigestService

        return DigestService(self.settings, self.db, instance=self.instance, clock=self.clock)


def build_pipeline(
    settings: Settings,
    *,
    db: Database | None = None,
    instance: str | None = None,
    upgrade: bool = True,
    clock: Callable[[], datetime] = utcnow,
    rules: RuleSet | None = None,
    long_lived: bool = True,
) -> Pipeline:
    """The stages of one newsbot instance, sharing a database, rules and a clusterer.

    `rules` replaces the configured rule file (`newsbot eval --all-relevant` matches with a rule
    set that keeps every entry); parser processes receive it pickled. `long_lived`: False for a
    command that exits after one cycle (see :class:`~bot.worker.poll.Poller`), which also leaves
    deriving deal records to the next reader of the ledger (see
    :class:`~bot.worker.process.StoryBuilder`)."""
    register_secrets(settings.known_secrets())
    database = db or Database(settings.resolved_database_url)
    if upgrade:
        upgrade_schema(database)
    instance = instance or new_instance_id()
    rules_loader = None if rules is not None else functools.partial(load_rules, settings.rules)
    rules = rules if rules is not None else load_rules(settings.rules)
    cluster_config = ClusterConfig.from_settings(settings.clustering)
    story_builder = StoryBuilder(
        database,
        rules,
        cluster_config,
        threshold=settings.threshold,
        clock=clock,
        derive_deals=long_lived,
    )
    poller = Poller(
        settings,
        database,
        story_builder,
        instance=instance,
        clock=clock,
        # Parser processes rebuild the same rules from the file (see bot.worker.parsing).
        rules_loader=rules_loader,
        long_lived=long_lived,
    )
    return Pipeline(settings, database, story_builder, poller, instance, clock)
