"""Text analysis shared by the matcher and the clusterer.

`tokens`: Unicode/case folding, tokenising and light inflection folding (`fold`, `tokenize`,
`stem`, `stems`); `quantities`: money, power and chip counts found in text (`extract_quantities`);
`plural`: a count and the noun that agrees with it ("1 story", "2 stories"); `redaction`: URLs
fit to show or log, credentials masked (`mask_url`, `mask_urls_in`, `url_label`), for every layer.
"""

from bot.text.plural import plural
from bot.text.quantities import Quantity, extract_quantities
from bot.text.tokens import fold, stem, stems, tokenize

__all__ = ["Quantity", "extract_quantities", "fold", "plural", "stem", "stems", "tokenize"]
