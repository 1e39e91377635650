"""Hybrid search: dense and BM25 candidates, fused, optionally reranked."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from rag.embedding import Embedder
from rag.embedding.base import Vectors
from rag.index.snapshot import Snapshot
from rag.index.store import Store
from rag.index.tuning import TunedWeights
from rag.modes import FusionMode
from rag.retrieval.dense import DenseRetriever
from rag.retrieval.filters import Filters, allowed_positions
from rag.retrieval.fusion import Fused, minmax_fusion, reciprocal_rank_fusion
from rag.retrieval.hits import Hit
from rag.retrieval.passages import Passage, load_passages
from rag.retrieval.rerank import Reranker
from rag.retrieval.rewrite import QueryTransform, Unchanged
from rag.retrieval.sparse import SparseRetriever
from rag.retrieval.summaries import Ranked, SummaryLeaves, dot_closeness, expand
from rag.settings import RetrievalSettings, TokenizerSettings


@dataclass(frozen=True)
class SideHit:
    rank: int
    score: float


@dataclass(frozen=True)
class Retrieved:
    position: int
    score: float
    dense: SideHit | None = None
    sparse: SideHit | None = None
    rerank_score: float | None = None
    via: int | None = None  # the RAPTOR summary that handed this chunk on (its position)


@dataclass
class SearchOutcome:
    hits: list[Retrieved]
    mode: FusionMode
    timings_ms: dict[str, float] = field(default_factory=dict)


class HybridRetriever:
    def __init__(
        self,
        snapshot: Snapshot,
        embedder: Embedder,
        tokenizer: TokenizerSettings,
        settings: RetrievalSettings,
        reranker: Reranker | None = None,
        transform: QueryTransform | None = None,
        tuned: TunedWeights | None = None,
    ) -> None:
        """`tuned`: the weights `rag tune` chose for this index, by fusion mode;
        they replace the settings' weights for those modes."""
        self.snapshot = snapshot
        self._dense = DenseRetriever(snapshot, embedder)
        self._sparse = SparseRetriever(snapshot, tokenizer)
        self._settings = settings
        self._reranker = reranker
        self._transform = transform or Unchanged()
        self._tuned = tuned
        self._tree = SummaryLeaves.of(snapshot.store)

    @property
    def store(self) -> Store:
        """The chunk and document store of this retriever's generation."""
        return self.snapshot.store

    def passages(self, positions: Sequence[int]) -> list[Passage]:
        """The stored passages at `positions`, in that order."""
        return load_passages(self.snapshot.store, positions)

    def with_reranker(self, reranker: Reranker) -> HybridRetriever:
        """A retriever over the same open generation that reranks with `reranker`."""
        twin = copy.copy(self)
        twin._reranker = reranker
        return twin

    def with_tuning(self, tuned: TunedWeights | None) -> HybridRetriever:
        """A retriever over the same open generation fusing with `tuned` weights
        (None: the settings' weights)."""
        twin = copy.copy(self)
        twin._tuned = tuned
        return twin

    @property
    def tuned(self) -> TunedWeights | None:
        return self._tuned

    def close(self) -> None:
        self.snapshot.close()

    def search(
        self,
        question: str,
        top_k: int,
        mode: FusionMode,
        filters: Filters | None = None,
        transform: QueryTransform | None = None,
    ) -> SearchOutcome:
        clock = Stopwatch()
        with clock.stage("filter"):
            allowed = allowed_positions(self.snapshot.store, filters or Filters())
        n = max(self._settings.candidates, top_k)
        dense: list[list[Hit]] = []
        sparse: list[list[Hit]] = []
        vector: Vectors | None = None
        with clock.stage("transform"):
            queries = (transform or self._transform).queries(question)
        for query in queries:
            if mode is not FusionMode.SPARSE:
                with clock.stage("embed"):
                    vector = self._dense.embed(query) if vector is None else vector
                with clock.stage("dense"):
                    dense.append(self._dense.retrieve_vector(vector, n, allowed))
            if mode is not FusionMode.DENSE:
                with clock.stage("sparse"):
                    sparse.append(self._sparse.retrieve(query, n, allowed))
        with clock.stage("fuse"):
            hits = self._fuse(dense, sparse, mode)
        if self._tree:
            with clock.stage("summaries"):
                hits = self._hand_on(hits, vector, allowed)
        if self._reranker is not None:
            with clock.stage("rerank"):
                hits = self._rerank(question, hits)
        return SearchOutcome(hits[:top_k], mode, clock.ms)

    def sides(self, question: str, n: int) -> tuple[list[Hit], list[Hit]]:
        """The first `n` dense and BM25 candidates of `question`, unfused."""
        dense = self._dense.retrieve_vector(self._dense.embed(question), n)
        return dense, self._sparse.retrieve(question, n)

    def _fuse(
        self, dense: list[list[Hit]], sparse: list[list[Hit]], mode: FusionMode
    ) -> list[Retrieved]:
        tuned = self._tuned.get(mode) if self._tuned else None
        weights = tuned or (self._settings.dense_weight, self._settings.sparse_weight)
        fused = fuse(dense, sparse, mode, weights, self._settings.rrf_k)
        best_dense, best_sparse = _best(dense), _best(sparse)
        return [
            Retrieved(f.key, f.score, best_dense.get(f.key), best_sparse.get(f.key)) for f in fused
        ]

    def _hand_on(
        self, hits: list[Retrieved], vector: Vectors | None, allowed: npt.NDArray[np.int64] | None
    ) -> list[Retrieved]:
        """Summaries replaced by the chunks below them (`rag.retrieval.summaries`)."""
        near = dot_closeness(vector, self.snapshot.embeddings) if vector is not None else None
        ranked = expand(
            [h.position for h in hits],
            self._tree,
            near,
            self._settings.summary_leaves,
            None if allowed is None else set(allowed.tolist()),
        )
        own = {h.position: h for h in reversed(hits)}
        return [
            hits[r.source] if r.via is None else _handed(r, hits[r.source], own) for r in ranked
        ]

    def _rerank(self, question: str, hits: list[Retrieved]) -> list[Retrieved]:
        assert self._reranker is not None
        head = hits[: self._reranker.candidates]
        rows = self.snapshot.store.chunks_at([h.position for h in head])
        scores = self._reranker.score(question, [r.text for r in rows])
        rescored = [
            Retrieved(h.position, h.score, h.dense, h.sparse, s)
            for h, s in zip(head, scores, strict=True)
        ]
        rescored.sort(key=lambda h: -(h.rerank_score or 0.0))
        return rescored + hits[len(head) :]


def fuse(
    dense: list[list[Hit]],
    sparse: list[list[Hit]],
    mode: FusionMode,
    weights: tuple[float, float],
    rrf_k: float,
) -> list[Fused[int]]:
    """The rankings fused by `mode`; `weights` are the dense and the BM25 weight."""
    rankings = [*dense, *sparse]
    each = [weights[0]] * len(dense) + [weights[1]] * len(sparse)
    if mode is FusionMode.MINMAX:
        return minmax_fusion([[(h.position, h.score) for h in r] for r in rankings], each)
    if mode is FusionMode.RRF or len(rankings) > 1:
        return reciprocal_rank_fusion([[h.position for h in r] for r in rankings], rrf_k, each)
    return [Fused(h.position, h.score) for h in rankings[0]] if rankings else []


def _handed(ranked: Ranked, summary: Retrieved, own: dict[int, Retrieved]) -> Retrieved:
    """A chunk handed on by a summary: at the summary's score, with its own
    retrievers' ranks where it had them."""
    mine = own.get(ranked.position)
    dense, sparse = (mine.dense, mine.sparse) if mine else (None, None)
    return Retrieved(ranked.position, summary.score, dense, sparse, via=ranked.via)


def _best(rankings: list[list[Hit]]) -> dict[int, SideHit]:
    """Each position's best rank (and its score) over one retriever's rankings."""
    best: dict[int, SideHit] = {}
    for ranking in rankings:
        for hit in ranking:
            if hit.position not in best or hit.rank < best[hit.position].rank:
                best[hit.position] = SideHit(hit.rank, hit.score)
    return best


class Stopwatch:
    """Milliseconds spent per named stage."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            self.ms[name] = self.ms.get(name, 0.0) + elapsed
