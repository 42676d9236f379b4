"""The ledger's bar chart as inline SVG: deals per kind, labelled with their counted totals.

Email clients run no JavaScript and many block remote images, so the chart is drawn as SVG
markup inside the HTML part. Written by hand (a few rectangles and labels) rather than with a
plotting library: matplotlib would add tens of MB for one chart. Every label is XML-escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from bot.digest.render.common import format_amount, format_power
from bot.model.deal import LedgerSummary

WIDTH = 560
ROW_HEIGHT = 26
LABEL_WIDTH = 130
VALUE_WIDTH = 190
BAR_COLOUR = "#2f6db5"
TEXT_COLOUR = "#222222"
FONT = "font-family:Helvetica,Arial,sans-serif;font-size:12px"


def ledger_chart_svg(summary: LedgerSummary) -> str:
    """A horizontal bar per kind of deal (its number of deals), with its counted dollars and
    power beside it; an `<svg>` element with a title for screen readers."""
    rows = [total for total in summary.by_kind if total.deals]
    height = ROW_HEIGHT * max(len(rows), 1) + 10
    most = max((total.deals for total in rows), default=1)
    bar_room = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" role="img" aria-label="Deals by kind">',
        "<title>Deals by kind</title>",
    ]
    if not rows:
        parts.append(
            f'<text x="0" y="18" style="{FONT}" fill="{TEXT_COLOUR}">No deals this period</text>'
        )
    for index, total in enumerate(rows):
        y = 5 + index * ROW_HEIGHT
        bar = max(2, round(bar_room * total.deals / most))
        figures = [f"{total.deals} deal{'s' if total.deals != 1 else ''}"]
        if total.value_usd:
            figures.append(format_amount(total.value_usd))
        if total.power_mw:
            figures.append(format_power(total.power_mw))
        parts += [
            f'<text x="0" y="{y + 16}" style="{FONT}" fill="{TEXT_COLOUR}">'
            f"{escape(total.kind)}</text>",
            f'<rect x="{LABEL_WIDTH}" y="{y + 3}" width="{bar}" height="{ROW_HEIGHT - 8}" '
            f'fill="{BAR_COLOUR}"/>',
            f'<text x="{LABEL_WIDTH + bar + 6}" y="{y + 16}" style="{FONT}" '
            f'fill="{TEXT_COLOUR}">{escape(" · ".join(figures))}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)
