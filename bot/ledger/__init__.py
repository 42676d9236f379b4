"""The deal ledger: what the stories add up to.

Analysts keep spreadsheets of compute deals: who bought how many MW, GPUs or dollars, from
whom, where and when. This package turns a deal story into one deal record (`derive`), sums a
period's records into totals by kind with the top buyers and sellers (`summary`), writes them
as CSV and JSON with stable columns (`export`) and draws the email's bar chart as inline SVG
(`chart`). Pure functions, no I/O: storage keeps the records (bot.storage.deals) and the worker
refreshes them when stories change (bot.worker.ledger).
"""

from bot.ledger.derive import LedgerReport, derive_deal
from bot.model.deal import (
    KINDS,
    STATUS_CONFIRMED,
    STATUS_ENDED,
    STATUS_TALKS,
    UNKNOWN_KIND,
    Claim,
    DealFigure,
    DealRecord,
    DealSource,
)

# Raised whenever deriving reads a story differently: stored records of an older version are
# derived again (bot.worker.ledger), so an upgrade corrects the ledger rather than only new deals.
DERIVATION_VERSION = 4


def is_deal(record: DealRecord) -> bool:
    """Whether a story reads as a deal: it names a party, and says what kind of deal it is or
    states one of its figures."""
    stated = record.value_usd.stated or record.power_mw.stated or record.chips.stated
    return bool(record.parties) and (
        record.kind != UNKNOWN_KIND or stated or bool(record.value_as_given)
    )


__all__ = [
    "DERIVATION_VERSION",
    "KINDS",
    "STATUS_CONFIRMED",
    "STATUS_ENDED",
    "STATUS_TALKS",
    "UNKNOWN_KIND",
    "Claim",
    "DealFigure",
    "DealRecord",
    "DealSource",
    "LedgerReport",
    "derive_deal",
    "is_deal",
]
