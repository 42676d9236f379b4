"""Text analysis shared by the matcher and the clusterer.

`tokens`: Unicode/case folding, tokenising and light inflection folding (`fold`, `tokenize`,
`stem`, `stems`); `quantities`: money, power and chip counts found in text (`extract_quantities`).
"""

from bot.text.quantities import Quantity, extract_quantities
from bot.text.tokens import fold, stem, stems, tokenize

__all__ = ["Quantity", "extract_quantities", "fold", "stem", "stems", "tokenize"]
