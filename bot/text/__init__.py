"""Text analysis shared by the matcher and the clusterer.

`tokens`: Unicode/case folding, tokenising and light inflection folding (`fold`, `tokenize`,
`stem`, `stems`); `quantities`: money, power and chip counts found in text (`extract_quantities`);
`plural`: a count and the noun that agrees with it ("1 story", "2 stories"); `redaction`: URLs
fit to show or log, credentials masked (`mask_url`, `mask_urls_in`, `url_label`), for every layer;
`clutter`: page clutter (related-story teasers, sign-up and share lines) removed from text lines,
for the reader's normalisation and the clusterer's own reading (`strip_clutter`).

The tokeniser's and the quantities' names are imported on first use: every layer imports
`redaction` and `plural`, and need not load the tokeniser and the quantity patterns with them.
(`plural` is imported here: the function, not the submodule of the same name, is `bot.text.plural`
once the package is loaded.)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bot.text.plural import plural

if TYPE_CHECKING:
    from bot.text.quantities import Quantity, extract_quantities
    from bot.text.tokens import fold, stem, stems, tokenize

_EXPORTS = {
    "Quantity": "bot.text.quantities",
    "extract_quantities": "bot.text.quantities",
    "fold": "bot.text.tokens",
    "stem": "bot.text.tokens",
    "stems": "bot.text.tokens",
    "tokenize": "bot.text.tokens",
}
__all__ = ["Quantity", "extract_quantities", "fold", "plural", "stem", "stems", "tokenize"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bot.text' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
