"""Counts in words: "1 story", "2 stories", "1 feed added", "1,204 new entries".

The one helper every user-visible count goes through (digests, CLI output, logs), so nothing reads
"1 stories". English plurals here are irregular enough ("story"/"stories", "entry"/"entries",
"feed is"/"feeds are") that the plural form is given where it is not the singular plus "s".
"""

from __future__ import annotations


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and the noun that agrees with it, the count with thousands separators."""
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {noun}"
