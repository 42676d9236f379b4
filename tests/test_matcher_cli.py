"""`newsbot match`: JSON lines in, one decision per item out, errors naming the line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from bot.cli.main import cli

ITEMS = [
    {"id": "a", "title": "Microsoft signs $10 billion GPU capacity deal with Nebius"},
    {"id": 2, "title": "Fed holds rates", "summary": "Officials wait.", "source": "Reuters"},
    {
        "id": "c",
        "title": "Big news",
        "summary": "Meta leases a 300 MW data center campus",
        "categories": ["AI"],
    },
]


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _invoke(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(cli, ["match", *args], env={"NEWSBOT_CONFIG": None})
    return result.exit_code, result.stdout, result.stderr


def test_match_writes_one_line_per_item(tmp_path: Path) -> None:
    items = _write(tmp_path / "items.jsonl", ITEMS)
    out = tmp_path / "out.jsonl"
    code, _, err = _invoke("--input", str(items), "--output", str(out))
    assert code == 0, err
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [line["id"] for line in lines] == ["a", 2, "c"]
    assert [line["relevant"] for line in lines] == [True, False, True]
    assert set(lines[0]) == {"id", "relevant", "score", "rules"}
    assert "compute-deal" in lines[0]["rules"]
    assert lines[1] == {"id": 2, "relevant": False, "score": 0.0, "rules": []}
    assert "3 items, 2 relevant" in err


def test_explain_adds_matches(tmp_path: Path) -> None:
    items = _write(tmp_path / "items.jsonl", ITEMS[2:])
    code, out, err = _invoke("--input", str(items), "--output", "-", "--explain")
    assert code == 0, err
    (line,) = [json.loads(text) for text in out.splitlines()]
    first = line["matches"][0]
    assert set(first) == {"rule", "weight", "terms", "fields"}
    assert first["fields"] == ["summary"]
    assert any(term.startswith('"data center') for term in first["terms"])


def test_custom_rules_and_threshold(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("threshold = 1\n[[rule]]\nname = 'fed'\nquery = 'title:fed'\n")
    items = _write(tmp_path / "items.jsonl", ITEMS)
    code, out, _ = _invoke("--input", str(items), "--output", "-", "--rules", str(rules))
    assert code == 0
    assert [json.loads(line)["relevant"] for line in out.splitlines()] == [False, True, False]
    code, out, _ = _invoke(
        "--input", str(items), "--output", "-", "--rules", str(rules), "--threshold", "2"
    )
    assert [json.loads(line)["relevant"] for line in out.splitlines()] == [False, False, False]


def test_bad_line_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    items = tmp_path / "items.jsonl"
    items.write_text('{"id": 1, "title": "ok"}\n\n{"id": 2, "title": 5}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code, _, err = _invoke("--input", str(items), "--output", str(out))
    assert code == 2
    assert "line 3: expected a 'title' string, got 5" in err
    assert not out.exists()
    items.write_text('{"id": 1, "title": "ok"}\n{"id": 2, "title": \n', encoding="utf-8")
    code, _, err = _invoke("--input", str(items), "--output", str(out))
    assert code == 2 and "line 2: expected a JSON object, got invalid JSON" in err
    items.write_text('{"title": "no id"}\n', encoding="utf-8")
    code, _, err = _invoke("--input", str(items), "--output", str(out))
    assert code == 2 and "line 1: expected an 'id'" in err


def test_bad_rule_file_is_reported(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rule]]\nname = 'x'\nquery = 'gpu AND'\n")
    items = _write(tmp_path / "items.jsonl", ITEMS)
    code, _, err = _invoke("--input", str(items), "--output", "-", "--rules", str(rules))
    assert code == 2
    assert "rules.toml: rule 'x', column 8: expected a term after 'AND', got end of query" in err
