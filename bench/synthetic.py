"""Synthetic corpora for sizes no real dataset here reaches (100k, 1M chunks).

Text: term ids drawn from a Zipf law (s = 1.0 over 500k terms, as word
frequencies in English text roughly follow), about 100 analysed terms per
chunk (a 200-token chunk after stopwords); queries are 7 terms drawn from one
chunk, so their terms co-occur as a real question's do.

Vectors: unit vectors on segments between neighbouring centres, so that
approximate indices face neighbourhoods like real embeddings' rather than
uniform noise (on which every approximate index looks bad). Centres are real
chunk vectors when an index is given, random ones otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

VOCAB = 500_000
ZIPF_S = 1.0
MEAN_TERMS = 100
QUERY_TERMS = 7
NEAR_CENTRES = 10
NOISE = 0.1


@dataclass(frozen=True)
class TermCorpus:
    lengths: npt.NDArray[np.int64]
    term_ids: npt.NDArray[np.int32]
    vocab: list[str]

    def doc(self, i: int) -> npt.NDArray[np.int32]:
        start = int(self.lengths[:i].sum())
        return self.term_ids[start : start + int(self.lengths[i])]

    def words(self, ids: npt.NDArray[np.int32]) -> list[str]:
        return [self.vocab[int(t)] for t in ids]


def zipf_corpus(n_docs: int, seed: int = 0) -> TermCorpus:
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, VOCAB + 1, dtype=np.float64) ** ZIPF_S
    cdf = np.cumsum(weights / weights.sum())
    lengths = np.maximum(rng.poisson(MEAN_TERMS, n_docs), 1).astype(np.int64)
    term_ids = np.empty(int(lengths.sum()), dtype=np.int32)
    step = 10_000_000
    for start in range(0, len(term_ids), step):  # in slices: bounded temporary memory
        stop = min(start + step, len(term_ids))
        term_ids[start:stop] = np.searchsorted(cdf, rng.random(stop - start)).clip(0, VOCAB - 1)
    return TermCorpus(lengths, term_ids, [f"w{i}" for i in range(VOCAB)])


def zipf_queries(corpus: TermCorpus, n: int, seed: int = 1) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    starts = np.concatenate([[0], np.cumsum(corpus.lengths)])
    queries = []
    for doc in rng.choice(len(corpus.lengths), n, replace=False):
        terms = corpus.term_ids[starts[doc] : starts[doc + 1]]
        picked = rng.choice(terms, min(QUERY_TERMS, len(terms)), replace=False)
        queries.append(corpus.words(picked))
    return queries


def clustered_vectors(
    n: int, dim: int, seed: int, centres: npt.NDArray[np.float32] | None = None
) -> npt.NDArray[np.float32]:
    """`n` unit vectors on the segments between each centre and its nearest
    centres, plus a little isotropic noise: a low-dimensional spread like real
    embeddings', where isotropic noise alone would make every neighbour
    equally far."""
    parts = list(clustered_vector_slices(n, dim, seed, centres))
    return np.concatenate(parts) if parts else np.empty((0, dim), dtype=np.float32)


def clustered_vector_slices(
    n: int, dim: int, seed: int, centres: npt.NDArray[np.float32] | None = None
) -> Iterator[npt.NDArray[np.float32]]:
    """`clustered_vectors` in slices of 100k, made one at a time."""
    rng = np.random.default_rng(seed)
    if centres is None:
        centres = _unit(rng.standard_normal((min(max(n // 200, 16), 5000), dim)).astype(np.float32))
    near = _nearest(centres, NEAR_CENTRES)
    for start in range(0, n, 100_000):
        count = min(start + 100_000, n) - start
        first = rng.integers(0, len(centres), count)
        second = near[first, rng.integers(0, near.shape[1], count)]
        along = rng.random((count, 1), dtype=np.float32)
        noise = rng.standard_normal((count, dim), dtype=np.float32) * (NOISE / np.sqrt(dim))
        mixed = centres[first] * (1 - along) + centres[second] * along + noise
        yield _unit(mixed.astype(np.float32))


def _nearest(centres: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.int64]:
    k = min(k, len(centres) - 1) or 1
    rows = []
    for start in range(0, len(centres), 2000):
        sims = centres[start : start + 2000] @ centres.T
        rows.append(np.argsort(-sims, axis=1)[:, 1 : k + 1])
    return np.concatenate(rows).astype(np.int64)


def _unit(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    unit: npt.NDArray[np.float32] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit
