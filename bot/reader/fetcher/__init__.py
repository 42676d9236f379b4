"""Fetching feeds over HTTP: limits, timeouts, conditional GET, redirects, the address policy and
failure classes.

* :mod:`bot.reader.fetcher.client`: :class:`Fetcher` and :class:`FeedRequest`;
* :mod:`bot.reader.fetcher.body`: body size caps, including the inflated size;
* :mod:`bot.reader.fetcher.errors`: :class:`FetchError` and the error classes;
* :mod:`bot.reader.fetcher.headers`: Retry-After, Cache-Control and Expires;
* :mod:`bot.reader.fetcher.policy`: which addresses may be fetched (SSRF protection);
* :mod:`bot.reader.fetcher.schedule`: when to check a feed next (pure policy);
* :mod:`bot.reader.fetcher.state`: a feed's next state after a check (pure).
"""

import sys
import types

# httpx imports its command-line client (httpx._main, which loads rich and pygments: some 50 ms)
# whenever those are installed, as they are here for the progress bar; newsbot never runs it. An
# empty stand-in makes httpx define its fallback `main` instead.
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", types.ModuleType("httpx._main"))

from bot.reader.fetcher.client import MAX_REDIRECTS, FeedRequest, Fetcher
from bot.reader.fetcher.errors import ERROR_CLASSES, FetchError, classify_exception

__all__ = [
    "ERROR_CLASSES",
    "MAX_REDIRECTS",
    "FeedRequest",
    "FetchError",
    "Fetcher",
    "classify_exception",
]
