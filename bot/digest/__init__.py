"""Compose and render digests: which stories a channel gets, and how they read in Slack, email and
plain text. Pure logic only; delivery lives in ``bot.integration``."""

from bot.digest.compose import (
    PreviousInclusion,
    compose_digest,
    is_material_update,
    material_fact_changes,
)

__all__ = [
    "PreviousInclusion",
    "compose_digest",
    "is_material_update",
    "material_fact_changes",
]
