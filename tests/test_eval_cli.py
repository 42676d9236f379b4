"""`newsbot eval`: labelled items served as feeds on 127.0.0.1, one real poll into a fresh
database, the stories read back and scored, on SQLite and on PostgreSQL.

The fixture's labels are partly at odds with the items on purpose, so that every figure is
non-trivial while what the pipeline does with the items is not in doubt: three reports of one
Nebius-Microsoft deal, two of one Oracle-OpenAI deal, and two items no compute-deal rule keeps.
The gold labels put the basketball item into the Nebius story (no rule makes it relevant, so it
can never get there) and the second Oracle report into a story of its own (the pipeline joins it
to the first: it reports the same deal). Expected, by hand:

    predicted: {deal-1, deal-2, deal-3}, {deal-4, deal-5}, {other-1}, {other-2}
    B3 precision (1 + 1 + 1 + 1/2 + 1/2 + 1 + 1) / 7 = 6/7
    B3 recall    (3/4 + 3/4 + 3/4 + 1/4 + 1 + 1 + 1) / 7 = 5.5/7
    pairwise: 4 predicted pairs, 6 gold pairs, 3 shared: P 3/4, R 1/2
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from bot.cli.main import cli

NEBIUS = "nebius-microsoft"
ITEMS: list[dict[str, Any]] = [
    {
        "id": "deal-1",
        "cluster_id": NEBIUS,
        "title": "Nebius signs $17.4 billion GPU capacity deal with Microsoft",
        "summary": "Nebius will supply Microsoft with dedicated GPU infrastructure capacity from "
        "a new data center in Vineland, New Jersey, under a five-year contract worth $17.4 "
        "billion.",
        "text": "The AI infrastructure company said the contract could grow to $19.4 billion if "
        "Microsoft buys additional services.\n\nNebius shares jumped after hours.",
        "published": "2025-09-08T21:05:00Z",
        "source": "Reuters",
        "url": "https://www.reuters.com/technology/nebius-microsoft-gpu-deal-2025-09-08/",
    },
    {
        "id": "deal-2",
        "cluster_id": NEBIUS,
        "title": "Microsoft to pay Nebius $17.4 billion for AI compute in New Jersey",
        "summary": "Microsoft agreed to buy $17.4 billion of GPU capacity from Nebius over five "
        "years, served from Nebius's Vineland, New Jersey data center.",
        "published": "2025-09-08T22:30:00Z",
        "source": "Bloomberg",
        "url": "https://www.bloomberg.com/news/articles/2025-09-08/microsoft-nebius-gpu-capacity",
    },
    {
        "id": "deal-3",
        "cluster_id": NEBIUS,
        "title": "Nebius lands $17.4bn Microsoft GPU infrastructure contract",
        "summary": "Nebius has signed a five-year, $17.4 billion agreement to provide GPU "
        "capacity to Microsoft from its Vineland, New Jersey site.",
        "published": "2025-09-09T07:15:00Z",
        "source": "The Register",
        "url": "https://www.theregister.com/2025/09/09/nebius_microsoft_gpu_deal/",
    },
    {
        "id": "deal-4",
        "cluster_id": "oracle-openai",
        "title": "Oracle to supply OpenAI with 4.5 gigawatts of data center capacity",
        "summary": "OpenAI agreed to rent an additional 4.5 GW of data center power from Oracle "
        "in the US as part of its Stargate project, a deal worth about $30 billion a year.",
        "published": "2025-07-02T14:00:00Z",
        "source": "Reuters",
        "url": "https://www.reuters.com/technology/oracle-openai-4-5-gw-2025-07-02/",
    },
    {
        "id": "deal-5",
        "cluster_id": "oracle-openai-labelled-apart",
        "title": "OpenAI agrees to rent 4.5 GW of Stargate data center power from Oracle",
        "summary": "OpenAI will rent 4.5 gigawatts of data center capacity from Oracle, a $30 "
        "billion-a-year agreement that expands the Stargate project.",
        "published": "2025-07-02T16:20:00Z",
        "source": "Bloomberg",
        "url": "https://www.bloomberg.com/news/articles/2025-07-02/openai-oracle-stargate-4-5-gw",
    },
    {
        "id": "other-1",
        "cluster_id": NEBIUS,
        "title": "Lakers & Celtics renew rivalry in Christmas Day opener",
        "summary": "The <b>NBA</b> schedule puts the two clubs on national television.",
        "published": "2025-09-08T23:00:00Z",
        "source": "The Register",
        "url": "https://www.theregister.com/2025/09/08/lakers_celtics/",
    },
    {
        "id": "other-2",
        "cluster_id": "bakery",
        "title": "Village bakery wins national sourdough prize",
        "summary": "A family bakery took the top award at the national bread festival.",
        "published": "2025-07-03T09:00:00Z",
        "source": "Local News",
        "url": "https://news.example/bakery-prize",
    },
]
EXPECTED = {
    "items": 7,
    "gold_stories": 4,
    "predicted_stories": 4,
    "not_placed": 0,
    "feeds": 4,  # Reuters, Bloomberg, The Register, Local News
    "failed_feeds": 0,
    "bcubed_precision": round(6 / 7, 4),
    "bcubed_recall": round(5.5 / 7, 4),
    "bcubed_f1": round(2 * (6 / 7) * (5.5 / 7) / (6 / 7 + 5.5 / 7), 4),
    "pairwise_precision": 0.75,
    "pairwise_recall": 0.5,
    "pairwise_f1": 0.6,
}


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    return _write(tmp_path / "labelled.jsonl", ITEMS)


def _eval(*args: str) -> Result:
    return CliRunner().invoke(cli, ["eval", *args])


def _eval_databases(server: str) -> set[str]:
    engine = create_engine(server)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE 'newsbot_eval_%'")
            )
            return {str(name) for (name,) in rows}
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_args(request: pytest.FixtureRequest) -> list[str]:
    """No option (a temporary SQLite file), or the PostgreSQL test server."""
    if request.param == "sqlite":
        return []
    # A database on the test server: skips, or fails under CI, where no server answers.
    return ["--database-url", str(request.getfixturevalue("pg_url"))]


def test_eval_scores_one_poll_of_the_served_items(labelled: Path, database_args: list[str]) -> None:
    before = _eval_databases(database_args[1]) if database_args else set()
    result = _eval(str(labelled), "--json", *database_args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures | EXPECTED == figures  # every expected figure, exactly
    assert figures["stories"] == 2 and figures["not_relevant"] == 2
    assert figures["database"] == ("postgresql" if database_args else "sqlite")
    assert "7 new entries" in figures["poll"]
    if database_args:  # the temporary database is gone again
        assert _eval_databases(database_args[1]) <= before


def test_all_relevant_clusters_every_item(labelled: Path) -> None:
    result = _eval(str(labelled), "--all-relevant", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    # The two unrelated items are now stories of their own: the same partition, scored alike.
    assert figures | EXPECTED == figures
    assert figures["stories"] == 4 and figures["not_relevant"] == 0
    assert figures["rules"] == "<every item relevant>"


def test_rules_option_replaces_the_configured_rules(labelled: Path, tmp_path: Path) -> None:
    rules = tmp_path / "bread.toml"
    rules.write_text('[[rule]]\nname = "bread"\nquery = "sourdough"\n', encoding="utf-8")
    result = _eval(str(labelled), "--rules", str(rules), "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert (figures["stories"], figures["not_relevant"]) == (1, 6)
    assert figures["rules"] == str(rules)
    # Every item alone: nothing wrongly joined, and of the gold pairs none kept.
    assert (figures["bcubed_precision"], figures["pairwise_recall"]) == (1.0, 0.0)


def test_text_output_with_details_names_split_and_mixed_stories(labelled: Path) -> None:
    result = _eval(str(labelled), "--details")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "7 items in 4 gold stories, served as 4 feeds" in out
    assert "2 items not relevant, 0 not placed; 4 predicted stories" in out
    assert "B-cubed   P 0.857  R 0.786  F1 0.820" in out
    assert "pairwise  P 0.750  R 0.500  F1 0.600" in out
    split = out.split("gold stories split over several predicted stories: 1\n")[1]
    split, mixed = split.split("predicted stories mixing gold stories: 1\n")
    assert split.startswith(f"  {NEBIUS}: 4 items in 2 stories\n")
    assert "    no story (not relevant):\n      other-1  Lakers & Celtics renew rivalry" in split
    assert ": 2 items of 2 gold stories" in mixed
    assert "    oracle-openai:\n      deal-4  " in mixed
    assert "    oracle-openai-labelled-apart:\n      deal-5  " in mixed


def test_details_in_json(labelled: Path) -> None:
    result = _eval(str(labelled), "--details", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    [split] = figures["split"]
    assert split["gold_story"] == NEBIUS
    assert [[item["id"] for item in part["items"]] for part in split["parts"]] == [
        ["deal-1", "deal-2", "deal-3"],
        ["other-1"],
    ]
    assert split["parts"][1]["story"] == "no story (not relevant)"
    [mixed] = figures["mixed"]
    assert {part["gold_story"] for part in mixed["parts"]} == {
        "oracle-openai",
        "oracle-openai-labelled-apart",
    }


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"id": "x", "title": "No label"}, "item 'x' has no 'cluster_id' (its gold story)"),
        ({"cluster_id": "s", "title": "No id"}, "missing 'id'"),
        ("not json", "not JSON (Expecting value)"),
        ({"id": "deal-1", "cluster_id": "s", "title": "Again"}, "duplicate id 'deal-1'"),
    ],
)
def test_bad_input_names_the_file_and_line(tmp_path: Path, line: object, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    bad = line if isinstance(line, str) else json.dumps(line)
    path.write_text(json.dumps(ITEMS[0]) + "\n" + bad + "\n", encoding="utf-8")
    result = _eval(str(path))
    assert result.exit_code == 2
    assert result.output == f"newsbot: input error: {path}:2: {message}\n"


def test_usage_errors_exit_2(labelled: Path, tmp_path: Path) -> None:
    missing = _eval(str(tmp_path / "missing.jsonl"))
    assert missing.exit_code == 2 and "missing.jsonl: cannot read" in missing.output
    both = _eval(str(labelled), "--all-relevant", "--rules", str(tmp_path / "r.toml"))
    assert both.exit_code == 2 and "exclude each other" in both.output
    sqlite = _eval(str(labelled), "--database-url", f"sqlite:///{tmp_path / 'x.db'}")
    assert sqlite.exit_code == 2 and "expected a PostgreSQL URL" in sqlite.output
    rules = tmp_path / "broken.toml"
    rules.write_text("threshold = [\n", encoding="utf-8")
    broken = _eval(str(labelled), "--rules", str(rules))
    assert broken.exit_code == 2 and f"rules error: {rules}" in broken.output
