"""Shards of one generation: contiguous ranges of chunk positions, each with
its own FAISS index and BM25 postings.

    GENERATION/store.sqlite        every file, document and chunk (the catalogue)
    GENERATION/embeddings.npy      every vector, row = chunk position
    GENERATION/shards/000/         positions bounds[0]..bounds[1]-1:
        dense.faiss                    FAISS ids 0.. are positions bounds[0]..
        bm25/                          columns likewise; weights from the whole corpus

A generation of one shard keeps the unsharded layout (`dense.faiss` and
`bm25/` beside the store). BM25 weights are computed with the statistics of
the whole corpus (document count, average length, document frequencies), so
every posting weight, and so every score, equals the unsharded index's.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from rag.errors import IndexCorruptError
from rag.index.bm25 import Analysed, BM25Index, CorpusStats, SparseHits
from rag.index.dense import (
    DenseHits,
    build_dense,
    load_dense,
    save_dense,
    search_dense,
    search_subset,
)
from rag.index.terms import TermAnalyzer
from rag.settings import BM25Settings, DenseSettings

SHARDS = "shards"
DENSE = "dense.faiss"
BM25 = "bm25"
Ints = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]


def shard_bounds(n_chunks: int, count: int) -> list[int]:
    """Where each of `count` shards starts, then `n_chunks`: sizes differ by at most one."""
    return [i * n_chunks // count for i in range(count + 1)]


def shard_folder(generation: Path, shard: int, count: int) -> Path:
    """A shard's folder; the one shard of an unsharded generation is the generation itself."""
    return generation if count == 1 else generation / SHARDS / f"{shard:03d}"


@dataclass
class Shard:
    """One shard opened for search; positions in and out are the generation's."""

    start: int
    stop: int
    bm25: BM25Index
    dense: faiss.Index
    vectors: Vectors  # rows start..stop-1 of the generation's embeddings

    def dense_hits(self, query: Vectors, k: int, allowed: Ints | None) -> DenseHits:
        if allowed is None:
            hits = search_dense(self.dense, query, k)
        else:
            hits = search_subset(self.vectors, self._local(allowed), query, k)
        return DenseHits(hits.positions + self.start, hits.scores)

    def sparse_hits(self, terms: Sequence[str], k: int, allowed: Ints | None) -> SparseHits:
        local = None if allowed is None else self._local(allowed)
        hits = self.bm25.search(terms, k, local)
        return SparseHits(hits.positions + self.start, hits.scores)

    def _local(self, allowed: Ints) -> Ints:
        low, high = np.searchsorted(allowed, [self.start, self.stop])
        return allowed[low:high] - self.start


def open_shard(
    generation: Path, shard: int, bounds: Sequence[int], embeddings: Vectors, dimension: int
) -> Shard:
    """Open one shard's parts and check they hold one row per position of its range."""
    folder = shard_folder(generation, shard, len(bounds) - 1)
    start, stop = bounds[shard], bounds[shard + 1]
    opened = Shard(
        start, stop, _bm25(folder / BM25), load_dense(folder / DENSE), embeddings[start:stop]
    )
    for name, size in ((DENSE, opened.dense.ntotal), (BM25, opened.bm25.n_docs)):
        if size != stop - start:
            raise IndexCorruptError(
                f"{folder / name} holds {size} rows, the store {stop - start} chunks"
            )
    if opened.dense.d != dimension:
        raise IndexCorruptError(
            f"{folder / DENSE} holds {opened.dense.d}-d vectors, the manifest says {dimension}"
        )
    return opened


def _bm25(folder: Path) -> BM25Index:
    try:
        return BM25Index.load(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(f"damaged BM25 index {folder}: {exc}") from None


@dataclass(frozen=True)
class ShardPlan:
    """Everything needed to write one shard: its range, analysed chunks and vectors."""

    shard: int
    count: int
    analysed: Analysed
    vectors: Vectors


def plan_shards(
    texts: Sequence[str], vectors: Vectors, bounds: Sequence[int], analyzer: TermAnalyzer
) -> list[ShardPlan]:
    """Chunk texts and vectors split at `bounds`, each shard's texts analysed."""
    count = len(bounds) - 1
    return [
        ShardPlan(i, count, Analysed.of(map(analyzer.terms, texts[a:b])), vectors[a:b])
        for i, (a, b) in enumerate(itertools.pairwise(bounds))
    ]


def write_shard(
    generation: Path,
    plan: ShardPlan,
    corpus: CorpusStats,
    bm25: BM25Settings,
    dense: DenseSettings,
) -> None:
    """Write a shard's BM25 postings, weighted with the whole `corpus`'s
    statistics, and its FAISS index (of the type `dense` gives its size)."""
    folder = shard_folder(generation, plan.shard, plan.count)
    folder.mkdir(parents=True, exist_ok=True)
    a = plan.analysed
    BM25Index.from_term_ids(a.lengths, a.term_ids, a.vocab, bm25, corpus).save(folder / BM25)
    save_dense(build_dense(plan.vectors, dense), folder / DENSE)
