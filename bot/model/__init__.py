"""Plain data that crosses stage boundaries: entries, match results, stories and digests.

Every stage takes and returns these types, so the pure stages (matching, clustering, digest
composition, rendering) can be tested on in-memory data without a database or a network.
"""

from bot.model.digest import Digest, DigestStory, SourceRef, StoryView
from bot.model.entry import Entry, FetchOutcome, FetchStatus, ParsedFeed
from bot.model.match import MatchHit, MatchItem, MatchResult
from bot.model.story import Assignment, StoryFacts

__all__ = [
    "Assignment",
    "Digest",
    "DigestStory",
    "Entry",
    "FetchOutcome",
    "FetchStatus",
    "MatchHit",
    "MatchItem",
    "MatchResult",
    "ParsedFeed",
    "SourceRef",
    "StoryFacts",
    "StoryView",
]
