"""Deriving a deal record from one story: its reports, read as the story facts read them.

Owns which figures go into totals, the buyer and seller roles, the deal's parties, its kind and
whether it was confirmed. Pure functions (no I/O) over `LedgerReport`s, the member reports of
one story, one module per part of the record:

- `figures`: which figures a report states are the deal's own whole figure, and whether the
  reports agree on it (`deal_figure`); money in other currencies or per year kept as given.
- `roles`: the buyer and the seller, from the verbs between two parties (`sentence_roles`,
  `deal_roles`).
- `parties`: the organisations the deal is between, less what the reports' own words show is
  not one (`deal_parties`, `a_person`, `a_description`, `a_product`, ...).
- `kind`: the deal's kind from its vocabulary, read against its figure and seller (`deal_kind`,
  `what_is_sold`).
- `status`: whether a report reads as talks or a plan, or as the deal's end.
- `record`: a story's reports read into those parts and assembled into a `DealRecord`
  (`derive_deal`).

This package re-exports the names the rest of newsbot and its tests use.

Written here rather than with an NLP library for the reasons the facts package gives: small,
deterministic, and about deal roles that general parsers do not know.
"""

from bot.ledger.derive.figures import deal_figure
from bot.ledger.derive.kind import deal_kind
from bot.ledger.derive.parties import (
    a_description,
    a_fragment,
    a_person,
    a_product,
    a_project,
    only_an_owner,
)
from bot.ledger.derive.record import LedgerReport, derive_deal
from bot.ledger.derive.roles import sentence_roles

__all__ = [
    "LedgerReport",
    "a_description",
    "a_fragment",
    "a_person",
    "a_product",
    "a_project",
    "deal_figure",
    "deal_kind",
    "derive_deal",
    "only_an_owner",
    "sentence_roles",
]
