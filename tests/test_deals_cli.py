"""`newsbot deals`: filters, formats and bad input, on a database filled by a real poll."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.clustering.item import ClusterItem
from bot.config.loader import load_config
from bot.evaluation.endtoend import ALL_RELEVANT, LoopbackFeeds, build_pipeline, poll, poll_settings
from bot.ledger.export import COLUMNS

NOW = datetime.now(UTC).replace(microsecond=0)
ITEMS = [
    ClusterItem(
        key="cloud",
        title="Northlake Compute signs $2 billion GPU cloud deal with Kestrel Labs",
        summary="Kestrel Labs will rent 20,000 Nvidia GPUs from Northlake Compute under a "
        "four-year cloud contract worth $2 billion, the companies said.",
        published=NOW - timedelta(days=2),
        source="Wire One",
        url="https://wire-one.example/northlake-kestrel",
    ),
    ClusterItem(
        key="power",
        title="Brightwater Energy to supply 450 MW of wind power to [bold]Corvane Data[/bold]",
        summary="Brightwater Energy will supply 450 megawatts of wind and solar power to "
        "Corvane Data's campus under a 15-year power purchase agreement.",
        published=NOW - timedelta(days=40),
        source="Grid Daily",
        url="https://grid-daily.example/brightwater-corvane",
    ),
]


@pytest.fixture(scope="module")
def config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("deals-cli")
    url = f"sqlite:///{folder / 'deals.db'}"
    with LoopbackFeeds(ITEMS) as served:
        settings = poll_settings(
            load_config(None),
            served.feed_settings(),
            database_url=url,
            data_dir=folder,
            retention_days=60,
        )
        pipeline = build_pipeline(settings, clock=lambda: NOW, rules=ALL_RELEVANT)
        served.publish(ITEMS)
        poll(pipeline)
        pipeline.db.dispose()
    path = folder / "newsbot.toml"
    path.write_text(f'database_url = "{url}"\n')
    return path


def _deals(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-c", str(config), "deals", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_json_lists_every_deal_with_the_documented_columns(config: Path) -> None:
    rows = json.loads(_deals(config, "--format", "json"))
    assert [row["kind"] for row in rows] == ["power", "cloud capacity"]  # earliest first
    power, cloud = rows
    assert list(cloud) == list(COLUMNS)
    assert cloud["value_usd"] == 2e9 and cloud["chips"] == 20_000
    assert cloud["buyers"] == ["Kestrel Labs"] and cloud["sellers"] == ["Northlake Compute"]
    assert cloud["sources"][0]["link"] == "https://wire-one.example/northlake-kestrel"
    assert power["power_mw"] == 450 and power["sellers"] == ["Brightwater Energy"]


def test_filters_by_age_party_and_kind(config: Path) -> None:
    recent = json.loads(_deals(config, "--since", "30d", "--format", "json"))
    assert [row["kind"] for row in recent] == ["cloud capacity"]
    assert json.loads(_deals(config, "--party", "kestrel", "--format", "json"))[0]["kind"] == (
        "cloud capacity"
    )
    assert [
        r["kind"] for r in json.loads(_deals(config, "--kind", "power", "--format", "json"))
    ] == ["power"]
    assert json.loads(_deals(config, "--party", "nobody", "--format", "json")) == []


def test_csv_has_a_header_and_lists_joined(config: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(_deals(config, "--format", "csv"))))
    assert tuple(rows[0]) == COLUMNS
    cloud = rows[1]
    assert cloud["value_usd"] == "2000000000" and cloud["power_mw"] == ""
    assert cloud["parties"].split("; ") == ["Northlake Compute", "Kestrel Labs"] or set(
        cloud["parties"].split("; ")
    ) == {"Northlake Compute", "Kestrel Labs"}


def test_table_prints_feed_text_as_text(config: Path) -> None:
    table = _deals(config)
    assert "Deal ledger: 2 deals" in table
    assert "[bold]Corvane Data[/bold]" in table  # shown as written, not taken as markup
    assert "Kestrel Labs → Northlake Compute" in table
    assert "$2B" in table and "450 MW" in table and "20,000" in table


def test_bad_since_is_a_usage_error(config: Path) -> None:
    result = CliRunner().invoke(cli, ["-c", str(config), "deals", "--since", "last tuesday"])
    assert result.exit_code == 2
    assert "--since" in result.output and "30d" in result.output
