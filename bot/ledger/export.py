"""The ledger as rows: CSV and JSON with stable column names (documented in README.md).

Owns `COLUMNS`, one row per deal (`deal_row`) and the CSV text (`to_csv`). JSON rows have the
same keys as the CSV columns, with lists as arrays, figures as numbers and `sources` as objects;
in CSV a list is joined with "; ". Figures: `value_usd`, `power_mw` and `chips` are the counted
figures (reports agree within tolerance), empty where the reports disagree or say nothing; the
`_low`/`_high` columns and their outlets give the range the reports state.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from bot.model.deal import DealFigure, DealRecord

LIST_SEPARATOR = "; "

COLUMNS: tuple[str, ...] = (
    "story_id",
    "first_reported",
    "confirmed",
    "status",
    "kind",
    "buyers",
    "sellers",
    "parties",
    "value_usd",
    "value_usd_low",
    "value_usd_high",
    "value_usd_low_outlets",
    "value_usd_high_outlets",
    "value_as_given",
    "power_mw",
    "power_mw_low",
    "power_mw_high",
    "power_mw_low_outlets",
    "power_mw_high_outlets",
    "chips",
    "chips_low",
    "chips_high",
    "chips_low_outlets",
    "chips_high_outlets",
    "places",
    "facilities",
    "headline",
    "source_count",
    "sources",
)


def _figure_columns(name: str, figure: DealFigure) -> dict[str, Any]:
    return {
        name: figure.counted,
        f"{name}_low": figure.low,
        f"{name}_high": figure.high,
        f"{name}_low_outlets": list(figure.low_outlets),
        f"{name}_high_outlets": list(figure.high_outlets),
    }


def deal_row(record: DealRecord) -> dict[str, Any]:
    """One deal as a row of `COLUMNS` (lists as lists, figures as numbers or None)."""
    row: dict[str, Any] = {
        "story_id": record.story_id,
        "first_reported": record.first_reported.isoformat() if record.first_reported else None,
        "confirmed": record.confirmed.isoformat() if record.confirmed else None,
        "status": record.status,
        "kind": record.kind,
        "buyers": list(record.buyers),
        "sellers": list(record.sellers),
        "parties": list(record.parties),
        **_figure_columns("value_usd", record.value_usd),
        "value_as_given": [f"{c.text} ({c.outlet})" for c in record.value_as_given],
        **_figure_columns("power_mw", record.power_mw),
        **_figure_columns("chips", record.chips),
        "places": list(record.places),
        "facilities": list(record.facilities),
        "headline": record.headline,
        "source_count": len({s.outlet for s in record.sources}),
        "sources": [
            {
                "outlet": s.outlet,
                "link": s.link,
                "published": s.published.isoformat() if s.published else None,
            }
            for s in record.sources
        ],
    }
    if row["chips"] is not None:
        row["chips"] = int(row["chips"])
    return {column: row[column] for column in COLUMNS}


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(
            item["link"] or item["outlet"] if isinstance(item, dict) else str(item)
            for item in value
        )
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:g}"
    return str(value)


def to_csv(records: Iterable[DealRecord]) -> str:
    """The deals as CSV text with a header row of `COLUMNS` (RFC 4180 quoting)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for record in records:
        row = deal_row(record)
        writer.writerow([_csv_cell(row[column]) for column in COLUMNS])
    return out.getvalue()
