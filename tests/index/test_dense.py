from __future__ import annotations

import threading
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag.index.dense import build_dense, load_dense, one_thread, save_dense, search_dense
from rag.settings import DenseIndexType, DenseSettings


def unit_vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def clustered_vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    """Points around 50 centres, like embeddings of a corpus with topics."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim))
    vectors = centres[rng.integers(0, 50, n)] + 0.5 * rng.standard_normal((n, dim))
    vectors = vectors.astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def brute_force(vectors: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(vectors @ query), kind="stable")[:k]


def test_flat_search_equals_numpy_brute_force() -> None:
    vectors, queries = unit_vectors(2000), unit_vectors(20, seed=1)
    index = build_dense(vectors, DenseSettings())
    for query in queries:
        hits = search_dense(index, query, 10)
        np.testing.assert_array_equal(hits.positions, brute_force(vectors, query, 10))
        np.testing.assert_allclose(hits.scores, (vectors @ query)[hits.positions], rtol=1e-5)


@pytest.mark.parametrize("kind", [DenseIndexType.HNSW, DenseIndexType.IVF_SQ8])
def test_approximate_indices_keep_recall(kind: DenseIndexType) -> None:
    vectors = clustered_vectors(5050)
    vectors, queries = vectors[:5000], vectors[5000:]
    index = build_dense(vectors, DenseSettings(index_type=kind))
    found = sum(
        len(set(search_dense(index, q, 10).positions) & set(brute_force(vectors, q, 10)))
        for q in queries
    )
    assert found / (10 * len(queries)) >= 0.95


def test_k_larger_than_index_and_empty_index(tmp_path: Path) -> None:
    vectors = unit_vectors(3)
    index = build_dense(vectors, DenseSettings())
    assert len(search_dense(index, vectors[0], 10).positions) == 3
    save_dense(index, tmp_path / "d.faiss")
    assert load_dense(tmp_path / "d.faiss").ntotal == 3
    empty = build_dense(np.zeros((0, 32), np.float32), DenseSettings())
    assert search_dense(empty, vectors[0], 5).positions.size == 0


def test_auto_index_type_follows_corpus_size() -> None:
    from rag.index.dense import resolve_type

    auto = DenseSettings()
    assert resolve_type(1_000, auto) is DenseIndexType.FLAT
    assert resolve_type(auto.hnsw_from, auto) is DenseIndexType.HNSW
    assert resolve_type(auto.ivf_from, auto) is DenseIndexType.IVF_SQ8
    assert resolve_type(10, DenseSettings(index_type=DenseIndexType.HNSW)) is DenseIndexType.HNSW
    small = DenseSettings(hnsw_from=100, ivf_from=1000)
    assert isinstance(build_dense(unit_vectors(50), small), faiss.IndexFlatIP)
    assert isinstance(build_dense(unit_vectors(500), small), faiss.IndexHNSWFlat)
    assert isinstance(build_dense(clustered_vectors(2000), small), faiss.IndexIVFScalarQuantizer)


def test_a_search_runs_faiss_on_one_thread_and_restores_the_count() -> None:
    before = faiss.omp_get_max_threads()
    seen: list[int] = []
    with one_thread():
        inside = faiss.omp_get_max_threads()
        other = threading.Thread(target=lambda: seen.append(faiss.omp_get_max_threads()))
        other.start()
        other.join()
    assert inside == 1 and faiss.omp_get_max_threads() == before
    assert seen == [before]  # another thread (an index being built) keeps its count
