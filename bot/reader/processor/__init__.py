"""Normalisation of feed content: plain text, canonical URLs, trustworthy dates, clutter removal.

Pure functions with no I/O, shared by the parser and by anything else that has to turn feed or page
markup into comparable text.
"""

from bot.reader.processor.dates import from_struct_time, plausible_time
from bot.reader.processor.text import to_plain_text, truncate
from bot.reader.processor.urls import canonical_url
from bot.text.clutter import strip_clutter

__all__ = [
    "canonical_url",
    "from_struct_time",
    "plausible_time",
    "strip_clutter",
    "to_plain_text",
    "truncate",
]
