"""Plain-text rendering: the CLI preview and the text/plain part of the email."""

from __future__ import annotations

import re

from bot.digest.render.templates import environment
from bot.digest.render.view import digest_context
from bot.model import Digest


def render_text(digest: Digest) -> str:
    text = environment(html=False).get_template("digest.txt.j2").render(digest_context(digest))
    # blank lines left by optional template parts collapse to one
    return re.sub(r"\n{3,}", "\n\n", text).lstrip("\n")
