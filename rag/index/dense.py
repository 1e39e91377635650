"""FAISS inner-product indices over unit vectors (inner product = cosine).

- flat: exact search;
- hnsw: graph search (M=32, efSearch=64 reached recall@10 0.99 at 100k here);
- ivf-sq8: inverted lists over 8-bit scalar-quantised vectors, for corpora
  too large to keep in float32 (1M vectors in about 375 MB);
- auto, the default: flat while exact search is fast (below 50k vectors,
  under about 4 ms), HNSW up to 500k, IVF-SQ8 beyond (`rag bench dense`
  measures each at 100k and 1M).
FAISS ids are chunk positions in the store.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from rag.errors import IndexCorruptError, IndexWriteError
from rag.index import vector_file
from rag.settings import DenseIndexType, DenseSettings

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class DenseHits:
    positions: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float32]


def build_dense(vectors: Vectors, settings: DenseSettings) -> faiss.Index:
    dim = vectors.shape[1]
    index = _empty_index(dim, len(vectors), settings)
    if not index.is_trained:
        index.train(_training_sample(vectors))
    if len(vectors):
        index.add(vectors)
    return index


def build_dense_from_file(path: Path, settings: DenseSettings, batch: int = 65_536) -> faiss.Index:
    """The index `build_dense` makes of the vectors saved at `path`, equal to it
    byte for byte. IVF-SQ8 is trained on the same sample and filled a batch at a
    time, read from the file, so its vectors are never all in memory (an HNSW or
    flat index holds every vector anyway: those are built from the whole array)."""
    n, dim = vector_file.shape(path)
    if resolve_type(n, settings) is not DenseIndexType.IVF_SQ8:
        return build_dense(np.load(path), settings)
    index = _empty_index(dim, n, settings)
    index.train(_file_sample(path, n, batch))
    for _, vectors in vector_file.batches(path, batch):
        index.add(vectors)
    return index


def _file_sample(path: Path, n: int, batch: int) -> Vectors:
    """`_training_sample` of the file's vectors, gathered in one pass over it."""
    rows = _sample_rows(n)
    parts = []
    for first, vectors in vector_file.batches(path, batch):
        inside = rows[(rows >= first) & (rows < first + len(vectors))]
        parts.append(vectors[inside - first])
    return np.ascontiguousarray(np.concatenate(parts))


def resolve_type(n: int, settings: DenseSettings) -> DenseIndexType:
    """The index type `auto` stands for at `n` vectors; others as set."""
    if settings.index_type is not DenseIndexType.AUTO:
        return settings.index_type
    if n >= settings.ivf_from:
        return DenseIndexType.IVF_SQ8
    return DenseIndexType.HNSW if n >= settings.hnsw_from else DenseIndexType.FLAT


def _empty_index(dim: int, n: int, settings: DenseSettings) -> faiss.Index:
    match resolve_type(n, settings):
        case DenseIndexType.HNSW:
            hnsw = faiss.IndexHNSWFlat(dim, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = settings.hnsw_ef_construction
            hnsw.hnsw.efSearch = settings.hnsw_ef_search
            return hnsw
        case DenseIndexType.IVF_SQ8:
            # nlist ~ 4 sqrt(N), the FAISS guideline for 1e5..1e6 vectors.
            nlist = max(1, min(int(4 * math.sqrt(max(n, 1))), max(n // 39, 1)))
            quantizer = faiss.IndexFlatIP(dim)
            ivf = faiss.IndexIVFScalarQuantizer(
                quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
            )
            ivf.nprobe = settings.ivf_nprobe
            return ivf
        case _:
            return faiss.IndexFlatIP(dim)


TRAINING_SAMPLE = 100_000


def _sample_rows(n: int) -> npt.NDArray[np.int64]:
    """The rows IVF is trained on: all of them up to TRAINING_SAMPLE, else a fixed sample."""
    if n <= TRAINING_SAMPLE:
        return np.arange(n, dtype=np.int64)
    return np.sort(np.random.default_rng(0).choice(n, TRAINING_SAMPLE, replace=False))


def _training_sample(vectors: Vectors) -> Vectors:
    if len(vectors) <= TRAINING_SAMPLE:
        return vectors
    return vectors[_sample_rows(len(vectors))]


def search_subset(
    vectors: Vectors, allowed: npt.NDArray[np.int64], query: Vectors, k: int
) -> DenseHits:
    """Exact search over the `allowed` rows only (filtered searches).

    Graph and inverted-list indices lose recall under selective filters; the
    exact product over the stored unit vectors of the allowed rows does not.
    FAISS's own kernel computes it, so a row's score is the float a flat index
    gives it, whichever other rows are allowed (a BLAS product's rounding
    depends on the matrix it is part of).
    """
    if allowed.size == 0 or k <= 0:
        return DenseHits(np.zeros(0, np.int64), np.zeros(0, np.float32))
    scores = _inner_products(vectors, allowed, query)
    k = min(k, allowed.size)
    # Everything at or above the k-th score, so ties at the cut go to the lower position.
    top = np.flatnonzero(scores >= np.partition(scores, allowed.size - k)[allowed.size - k])
    order = top[np.lexsort((allowed[top], -scores[top]))][:k]
    return DenseHits(allowed[order].astype(np.int64), scores[order].astype(np.float32))


def _inner_products(
    vectors: Vectors, rows: npt.NDArray[np.int64], query: Vectors
) -> npt.NDArray[np.float32]:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)  # a view of the mmap, no copy
    ids = np.ascontiguousarray(rows, dtype=np.int64)
    x = np.ascontiguousarray(query.reshape(-1), dtype=np.float32)
    out = np.empty(len(ids), dtype=np.float32)
    faiss.fvec_inner_products_by_idx(  # type: ignore[attr-defined]  # not in its stubs
        faiss.swig_ptr(out),
        faiss.swig_ptr(x),
        faiss.swig_ptr(matrix),
        faiss.swig_ptr(ids),
        matrix.shape[1],
        1,
        len(ids),
    )
    return out


def search_dense(index: faiss.Index, query: Vectors, k: int) -> DenseHits:
    k = min(k, index.ntotal)
    if k <= 0:
        return DenseHits(np.zeros(0, np.int64), np.zeros(0, np.float32))
    with one_thread():
        scores, positions = index.search(np.ascontiguousarray(query.reshape(1, -1)), k)
    keep = positions[0] >= 0
    return DenseHits(positions[0][keep].astype(np.int64), scores[0][keep].astype(np.float32))


@contextmanager
def one_thread() -> Iterator[None]:
    """FAISS on this thread with one OpenMP thread, then as before.

    A flat index spreads even a one-query search over every core, and the
    OpenMP threads then spin against the query embedder's: at 10k vectors
    (flat) the dense step took 4.6 ms at the median and 20 ms at p95 with
    two threads, 0.86 ms with one, which made a 10k index slower to search
    than a 100k one (HNSW, single-threaded for one query anyway). The count
    is the calling thread's own (OpenMP keeps it per thread), so an index
    being built on another thread keeps every core.
    """
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def save_dense(index: faiss.Index, path: Path) -> None:
    try:
        faiss.write_index(index, str(path))
    except RuntimeError as exc:  # FAISS reports a failed write (disk full) this way
        raise IndexWriteError(f"cannot write {path}: {_first_line(exc)}") from None


def load_dense(path: Path) -> faiss.Index:
    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(f"cannot read FAISS index {path}: {exc}") from None


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
