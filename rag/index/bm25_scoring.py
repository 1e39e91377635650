"""BM25 as pure functions over arrays (Robertson & Zaragoza 2009).

score(q, d) = sum over query terms t of
    idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| / avgdl))

Two idf variants:
- lucene: ln(1 + (N - df + 0.5) / (df + 0.5)), never negative (Lucene, Pyserini);
- okapi: ln((N - df + 0.5) / (df + 0.5)), with negative values replaced by
  epsilon times the mean idf over the vocabulary, exactly as rank-bm25's BM25Okapi.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rag.settings import BM25Method, BM25Settings

Floats = npt.NDArray[np.float64]


def idf_lucene(df: Floats, n_docs: int) -> Floats:
    return np.log1p((n_docs - df + 0.5) / (df + 0.5))


def idf_okapi(df: Floats, n_docs: int, epsilon: float, vocabulary: Floats | None = None) -> Floats:
    """Okapi idf of each df; the floor's mean runs over `vocabulary` (the
    document frequencies of every term of the corpus), by default `df` itself."""
    idf = _okapi(df, n_docs)
    every = idf if vocabulary is None else _okapi(vocabulary, n_docs)
    floor = epsilon * float(every.mean()) if every.size else 0.0
    return np.where(idf < 0, floor, idf)


def _okapi(df: Floats, n_docs: int) -> Floats:
    return np.log(n_docs - df + 0.5) - np.log(df + 0.5)


def tf_saturation(tf: Floats, doc_len: Floats, avgdl: float, k1: float, b: float) -> Floats:
    """The term-frequency factor of BM25 for each (term, document) posting."""
    norm = k1 * (1.0 - b + b * doc_len / max(avgdl, 1e-9))
    return tf * (k1 + 1.0) / (tf + norm)


def bm25_idf(df: Floats, n_docs: int, settings: BM25Settings) -> Floats:
    """The idf of each document frequency, by `settings.method`."""
    if settings.method is BM25Method.OKAPI:
        return idf_okapi(df, n_docs, settings.epsilon)
    return idf_lucene(df, n_docs)
