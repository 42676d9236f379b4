"""The Jinja2 environments of the digest templates (``bot/digest/templates``).

Two environments because the plain-text template must not HTML-escape and the HTML one must:
autoescape is decided by environment, not by file name, so a misnamed template cannot go out
unescaped.
"""

from __future__ import annotations

from functools import cache

import jinja2


@cache
def environment(*, html: bool) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot.digest", "templates"),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
