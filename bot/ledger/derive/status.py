"""How a report reads for a deal's status: as talks or a plan, or as the deal's end.

Owns `reads_as_talks` ("in talks", "weighs", "people familiar", "reportedly") and
`reads_as_ended` ("talks end", "rejects ... offer", "called off"), read from a report's title
and first lead sentence. The record (`record.derive_deal`) is confirmed from the first report
that does not read as talks, ended when the newest report reads as ended; the dates first
reported and confirmed are report times.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_TALKS = re.compile(
    r"\b(?:in\s+(?:advanced\s+)?talks|talks\s+(?:to|with|over|on)|weighs|weighing|considers|"
    r"considering|explores|exploring|nears|nearing|close\s+to\s+(?:a\s+)?(?:deal|agreement)|"
    r"in\s+discussions|discussing|negotiat\w*|people\s+(?:familiar|briefed)|"
    r"(?:sources|people|a\s+source|a\s+person)\s+(?:said|say|says)|"
    r"according\s+to\s+(?:people|sources|a\s+person|a\s+report|reports)|"
    r"on\s+(?:a\s+)?reports?\s+(?:that\s+)?|reports?\s+(?:say|says|said)|"
    r"reportedly|is\s+said\s+to|are\s+said\s+to|mulls|mulling|eyes|eyeing|seeks|seeking|"
    r"plans\s+to|would\s+(?:buy|invest|lease|acquire|supply))\b",
    re.IGNORECASE,
)


_ENDED = re.compile(
    r"\b(?:rejects?|rejected|rejecting|turns?\s+down|turned\s+down|walks?\s+away|walked\s+away|"
    r"calls?\s+off|called\s+off|scraps?|scrapped|abandons?|abandoned|terminates?|terminated|"
    r"cancels?|cancell?ed|ends?\s+(?:[\w'’-]+\s+){0,2}talks|"
    r"talks\s+(?:end|ended|collapse|collapsed|broke\s+down|have\s+broken\s+down|fell\s+apart)|"
    r"negotiations\s+(?:had\s+)?(?:broken\s+down|broke\s+down|collapsed|ended))\b",
    re.IGNORECASE,
)


def reads_as_ended(title: str, lead: Sequence[str]) -> bool:
    """A report that the deal is off: talks ended, a bid rejected, a deal called off."""
    return bool(_ENDED.search(title) or any(_ENDED.search(s) for s in lead[:1]))


def reads_as_talks(title: str, lead: Sequence[str]) -> bool:
    """A report of talks, a plan or an unconfirmed account ("sources say", "on report",
    "reportedly") rather than of a deal a party announced."""
    return bool(_TALKS.search(title) or any(_TALKS.search(s) for s in lead[:1]))
