"""Explaining a miss: the rule an item came nearest to, what it has of it, what it lacks, and the
exclusion that vetoed it; `newsbot match --explain` shows that for items that did not match."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bot.cli.main import cli
from bot.matcher import RuleSet, parse_rules
from bot.model.match import MatchItem

RULES = """
threshold = 1.0
[define]
compute = 'gpu* OR "data center*"'
deal = 'lease* OR buy OR contract* OR NEAR/3(supply (gpu* OR chip*))'
noise = 'earnings OR lawsuit*'

[[rule]]
name = "compute-deal"
query = "@compute AND @deal -@noise"

[[rule]]
name = "big-lease"
query = "power>=100MW AND lease* AND campus*"

[[rule]]
name = "chip-order"
query = "NEAR/4(chips>=1000 (order* OR buy*)) -@noise"
"""


def rules() -> RuleSet:
    return parse_rules(RULES, "explain.toml")


def test_nearest_rule_names_the_missing_part_and_what_was_found() -> None:
    item = MatchItem(title="Nvidia GPU shipments arrive in Texas", summary="Racks are installed.")
    assert not rules().match(item).relevant
    nearest = rules().nearest(item)
    assert nearest is not None
    assert nearest.rule == "compute-deal"
    # @compute, and a quarter of @deal: one of the two operands of NEAR/3(supply (gpu* OR chip*)).
    assert nearest.share == 0.625
    assert nearest.has == ("@compute: gpu (title)",)
    assert nearest.lacks == ("@deal",)
    assert nearest.excluded_by == ()


def test_nearest_rule_names_the_exclusion_that_vetoed_it() -> None:
    item = MatchItem(title="Oracle to lease GPU capacity", summary="Said on its earnings call.")
    nearest = rules().nearest(item)
    assert nearest is not None
    assert nearest.rule == "compute-deal"
    assert nearest.share == 1.0
    assert nearest.lacks == ()
    assert nearest.excluded_by == ("-@noise: earnings (summary)",)


def test_a_missing_figure_shows_the_figures_of_that_kind_the_item_has() -> None:
    item = MatchItem(title="Meta leases a 50 MW site", summary="A small campus.")
    nearest = rules().nearest(item)
    assert nearest is not None
    assert nearest.rule == "big-lease"
    assert nearest.lacks == ("power>=100MW (the item has 50 MW)",)
    assert nearest.has == ("lease*: leases (title)", "campus*: campus (summary)")


def test_a_near_that_does_not_hold_says_which_operand_is_missing_or_too_far() -> None:
    item = MatchItem(title="Humain orders 16 GB300 chips")
    nearest = rules().nearest(item)
    assert nearest is not None and nearest.rule == "chip-order"
    assert nearest.share == 0.25
    assert nearest.lacks == (
        "NEAR/4(chips>=1000 (order* OR buy*)) (no chips>=1000 (the item has 16 GB300 chips))",
    )
    item = MatchItem(title="Humain orders more racks from Dell, a year on; 18,000 chips later")
    nearest = rules().nearest(item)
    assert nearest is not None and nearest.rule == "chip-order"
    assert nearest.share == 0.5
    assert nearest.lacks == (
        "NEAR/4(chips>=1000 (order* OR buy*)) (its terms are there, but farther apart)",
    )


def test_no_nearest_rule_when_nothing_of_any_rule_is_there() -> None:
    assert rules().nearest(MatchItem(title="Fed holds rates", summary="Officials wait.")) is None


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["match", *args], env={"NEWSBOT_CONFIG": None})
    return result.exit_code, result.stdout, result.stderr


def test_match_explain_shows_the_nearest_rule_of_items_that_did_not_match(tmp_path: Path) -> None:
    rule_file = tmp_path / "rules.toml"
    rule_file.write_text(RULES, encoding="utf-8")
    rows = [
        {"id": "hit", "title": "Oracle to lease GPU capacity", "relevant": True},
        {"id": "vetoed", "title": "Oracle to lease GPUs", "summary": "Earnings call remark."},
        {"id": "near", "title": "Nvidia GPU shipments arrive", "relevant": True},
        {"id": "far", "title": "Fed holds rates", "relevant": False},
        {"id": "wrong", "title": "Meta to buy a data center", "relevant": False},
    ]
    items = tmp_path / "items.jsonl"
    items.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    code, out, err = _invoke(
        "--input", str(items), "--output", "-", "--rules", str(rule_file), "--explain"
    )
    assert code == 0, err
    lines = {line["id"]: line for line in map(json.loads, out.splitlines())}
    assert "nearest" not in lines["hit"]
    assert lines["vetoed"]["nearest"] == {
        "rule": "compute-deal",
        "share": 1.0,
        "has": ["@compute: gpus (title)", "@deal: lease (title)"],
        "lacks": [],
        "excluded_by": ["-@noise: earnings (summary)"],
    }
    assert lines["near"]["nearest"]["lacks"] == ["@deal"]
    assert lines["far"]["nearest"] is None
    # Labelled lines are compared with the decisions, for tuning.
    assert "labelled relevant: 1 of 2 matched (recall 0.500); missed: near" in err
    assert "labelled not relevant: 1 of 2 matched (50.0%): wrong" in err
    # Without --explain, no explanations.
    code, out, _ = _invoke("--input", str(items), "--output", "-", "--rules", str(rule_file))
    assert all(
        set(json.loads(line)) == {"id", "relevant", "score", "rules"} for line in out.splitlines()
    )


def test_a_label_that_is_not_true_or_false_is_an_input_error(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": 1, "title": "GPU lease", "relevant": "yes"}\n', encoding="utf-8")
    code, _, err = _invoke("--input", str(items), "--output", "-")
    assert code == 2
    assert "line 1: 'relevant' must be true or false, got 'yes'" in err


def test_a_line_of_newsbot_parse_is_an_item_its_link_the_url(tmp_path: Path) -> None:
    rule_file = tmp_path / "rules.toml"
    rule_file.write_text("[[rule]]\nname = 'slug'\nquery = 'url:gpu lease'\n", encoding="utf-8")
    line = {
        "id": "guid:1",
        "title": "Lease signed",
        "link": "https://x.example/gpu-deal",
        "summary": None,
        "categories": ["AI"],
        "published": None,
    }
    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps(line) + "\n", encoding="utf-8")
    code, out, err = _invoke("--input", str(items), "--output", "-", "--rules", str(rule_file))
    assert code == 0, err
    assert json.loads(out)["rules"] == ["slug"]
