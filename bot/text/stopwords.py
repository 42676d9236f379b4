"""Stopwords: function words and the boilerplate words of news (days, months, "reported",
"update"), which say nothing about which event a report is of.

The clusterer drops them from its terms; the stemmer (bot.text.tokens) never undoes a doubled
consonant into one ("herring" is not "her").
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS = _words(
    """
    a about above after again against all almost also although am among an and another any are
    aren around as at be became because become been before being below between both but by can
    cannot could did didn do does doesn doing don done down during each either else even ever
    every few for from further get gets getting got had has hasn have haven having he her here
    hers herself him himself his how however i if in into is isn it its itself just least less
    let like made make makes many may me might more most much must my myself near need never new
    news no nor not now of off on once one only or other others our ours ourselves out over own
    per perhaps put rather re really said same say says see seen several shall she should since
    so some still such than that the their theirs them themselves then there these they this
    those though through thus to too toward towards under until up upon us use used very via was
    wasn we well were weren what whatever when where whether which while who whom whose why will
    with within without won would yet you your yours yourself yourselves s t ll ve d m o y one
    two three four five six seven eight nine ten first second last today yesterday tomorrow week
    weeks year years month months day days time times says told tells report reports reported
    according amid after update updated monday tuesday wednesday thursday friday saturday sunday
    january february march april june july august september october november december jan feb
    mar apr jun jul aug sep sept oct nov dec am pm et gmt utc video photos photo live breaking
    exclusive here via
    """
)
