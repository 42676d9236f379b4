"""Wording shared by every renderer: how facts, dates, periods, sources and footers read.

Keeping these in one place makes the text, Slack and email versions of a digest say the same thing
in the same words; each renderer only adds its own markup and escaping.

Dates are written with the standard library (zoneinfo, with the tzdata package), not babel.
Measured (babel 2.18, locale "en", pattern "d MMM y, HH:mm zzz", 4 Dec 2026 23:51 UTC): both give
the same words for UTC and New York ("4 Dec 2026, 18:51 EST"), but where zoneinfo names the zone
as people read it, babel gives an offset ("5 Dec 2026, 00:51 CET" against "... +0100" for Berlin,
"IST" against "+0530" for Kolkata, "AEDT" against "+1100" for Sydney); it adds 36 MB of locale
data and 13 ms of import, and formats about three times slower (14 ms against 5 ms per thousand).
What babel is for, month names and patterns in the reader's language, newsbot does not offer: a
channel has a time zone (``schedule.timezone``) and no locale, and digests are written in
English. Should a channel ever get a locale, that is the time to adopt it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.model import Digest, SourceRef, StoryFacts
from bot.text.plural import plural

# Outlets named before "+N": a Slack context line is short; the text digest and the email have
# room to name every outlet of a typical multi-outlet story.
VISIBLE_OUTLETS = 3
VISIBLE_OUTLETS_LONG = 6


def format_power(megawatts: float) -> str:
    """300 -> "300 MW", 1300 -> "1.3 GW", 0.5 -> "500 kW", 12.5 -> "12.5 MW"."""
    if megawatts <= 0 or not math.isfinite(megawatts):
        return ""
    if megawatts < 1:
        return f"{_significant(megawatts * 1000)} kW"
    if round(megawatts, 1) < 1000:
        return f"{_significant(megawatts)} MW"
    return f"{_significant(megawatts / 1000)} GW"


def format_amount(usd: float) -> str:
    """17.4e9 -> "$17.4B", 5e8 -> "$500M", 1.2e12 -> "$1.2T", 750_000 -> "$750K"."""
    if usd <= 0 or not math.isfinite(usd):
        return ""
    for threshold, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if usd >= threshold * 0.9995:
            value = usd / threshold
            # 999.96M would print as "1000M": promote it to the next unit
            if float(_significant(value)) >= 1000 and suffix != "T":
                continue
            return f"${_significant(value)}{suffix}"
    return f"${usd:,.0f}"


def _significant(value: float) -> str:
    """At most three significant digits, no trailing zeros, never scientific notation."""
    if value >= 100:
        return f"{value:,.0f}"
    digits = 1 if value >= 10 else 2
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return text or "0"


def format_count(count: int) -> str:
    return f"{count:,}"


def fact_items(facts: StoryFacts) -> list[tuple[str, str]]:
    """The key facts that are known, as (label, value) pairs in reading order."""
    items: list[tuple[str, str]] = []
    parties = _unique(facts.parties)
    if parties:
        items.append(("Parties", ", ".join(parties)))
    if facts.power_mw:
        power = format_power(facts.power_mw)
        if power:
            items.append(("Power", power))
    if facts.amount_usd:
        amount = format_amount(facts.amount_usd)
        if amount:
            items.append(("Value", amount))
    if facts.chips:
        items.append(("Chips", format_count(facts.chips)))
    assets = _unique(facts.assets)
    if assets:
        items.append(("Facility", ", ".join(assets)))
    places = _unique(facts.places)
    if places:
        # Places read "City, State", so two of them are set apart with a semicolon.
        items.append(("Where", "; ".join(places)))
    return items


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    result: list[str] = []
    for value in values:
        text = " ".join(str(value).split())
        if text and text.casefold() not in seen:
            seen.add(text.casefold())
            result.append(text)
    return result


def local_time(moment: datetime, timezone: str = "UTC") -> datetime:
    """``moment`` (naive means UTC) in the IANA zone ``timezone``."""
    return _utc(moment).astimezone(ZoneInfo(timezone))


def format_when(moment: datetime, timezone: str = "UTC") -> str:
    """An unambiguous time in the channel's zone (an IANA name; naive ``moment`` means UTC):
    "4 Dec 2026, 23:51 EST", "14 May 2026, 09:12 UTC"."""
    local = local_time(moment, timezone)
    return f"{local.day} {local:%b %Y, %H:%M} {local:%Z}"


def format_period(digest: Digest) -> str:
    """The period a digest covers, compactly, in its channel's zone:
    "13 May 2026, 08:00 – 14 May 2026, 08:00 UTC", "4 Dec 2026, 08:00 – 23:51 EST"."""
    zone = digest.timezone
    end = local_time(digest.period_end, zone)
    if digest.period_start is None:
        return f"up to {format_when(end, zone)}"
    start = local_time(digest.period_start, zone)
    if start.tzname() != end.tzname():  # a clock change in between: name both zones
        return f"{format_when(start, zone)} – {format_when(end, zone)}"
    if start.date() == end.date():
        return f"{start.day} {start:%b %Y}, {start:%H:%M} – {end:%H:%M} {end:%Z}"
    return f"{start.day} {start:%b %Y, %H:%M} – {format_when(end, zone)}"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(slots=True, frozen=True)
class ReportedBy:
    """The outlets named in "Reported by A, B, C +2", and how many more there are."""

    shown: tuple[SourceRef, ...]
    more: int


def reported_by(sources: list[SourceRef], visible: int = VISIBLE_OUTLETS) -> ReportedBy:
    return ReportedBy(shown=tuple(sources[:visible]), more=max(len(sources) - visible, 0))


def count_phrase(digest: Digest, *, with_updated: bool = True) -> str:
    """The one count of a digest, said alike in its intro, subject and every Slack part:
    "16 stories", "3 stories, 1 held over, 1 updated", "1 story, held over", "no new stories"."""
    total = digest.total
    if not total:
        return "no new stories"
    phrase = plural(total, "story", "stories")
    held = digest.held_over_count
    if held and held == total:
        phrase += ", held over"
    elif held:
        phrase += f", {held:,} held over"
    if with_updated and digest.updated_count:
        phrase += f", {digest.updated_count:,} updated"
    return phrase


def footer_lines(digest: Digest) -> list[str]:
    """Counts, what was left out, and which feeds are failing: plain text, unescaped."""
    total, held, more = digest.total, digest.held_over_count, digest.more_count
    entries = (
        plural(digest.total_entries, "new entry", "new entries")
        if digest.total_entries
        else "no new entries"
    )
    if held and held == total:
        counts = f"{plural(held, 'story', 'stories')} held over from an earlier digest; {entries}"
    else:
        counts = plural(total, "story", "stories")
        if more:
            counts += f" ({len(digest.stories):,} shown, {more:,} below the cut)"
        counts += f" from {entries}"
        if held:
            counts += f"; {held:,} held over from an earlier digest"
    if digest.updated_count:
        counts += f"; {digest.updated_count:,} updated since the last digest"
    lines = [counts + "."]
    if digest.unhealthy_feeds:
        lines.append(
            f"{plural(len(digest.unhealthy_feeds), 'feed is', 'feeds are')} failing: "
            + ", ".join(digest.unhealthy_feeds)
        )
    return lines


def more_line(digest: Digest) -> str:
    more = plural(digest.more_count, "more story", "more stories")
    return f"…and {more} below the cut, held over to the next digest."


def subject_line(digest: Digest) -> str:
    """The email subject / message title: the digest title, period end and story count."""
    end = local_time(digest.period_end, digest.timezone)
    return f"{digest.title} · {end.day} {end:%b %Y} · {count_phrase(digest, with_updated=False)}"
