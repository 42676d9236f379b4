"""Feed parsing: bytes of an RSS/Atom/RDF document to a :class:`bot.model.ParsedFeed`.

feedparser is the reference parser. We call it in its fastest correct mode: HTML sanitising and
relative-URI rewriting inside content are off, because we never render feed HTML, we reduce it to
plain text ourselves (:mod:`bot.reader.processor`), and every renderer escapes what it prints.
The document's DOCTYPE is defused first (:mod:`bot.reader.parser.safety`). Well-formed UTF-8
RSS 2.0 and Atom documents take a fast path (:mod:`bot.reader.parser.fast`) that yields the same
entries as feedparser in a fraction of the time; everything else goes to feedparser.

Normalisation of entries (plain text, canonical URL, UTC dates, stable identity, clutter) lives in
:mod:`bot.reader.parser.normalise`.
"""

from bot.reader.parser.feed import FeedParseError, parse_feed

__all__ = ["FeedParseError", "parse_feed"]
