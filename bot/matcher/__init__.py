"""Relevance rules: a query language over feed items, compiled once, scored and explained.

    from bot.matcher import load_rules
    rules = load_rules(Path("config/rules/compute-deals.toml"))
    result = rules.match(MatchItem(title=..., summary=...))   # MatchResult(score, relevant, hits)

`query` holds the language (syntax in its docstring), `rules` the rule files and scoring,
`document` the one-time analysis of an item that all rules share, `prefilter` the one pass that
tells which rules an item can match, and `diagnosis` what an item lacks for the rule it came
nearest to (`RuleSet.nearest`, shown by `newsbot match --explain`).
"""

from bot.matcher.rules import Rule, RuleError, RuleSet, load_rules, parse_rules

__all__ = ["Rule", "RuleError", "RuleSet", "load_rules", "parse_rules"]
