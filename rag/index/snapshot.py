"""One complete, read-only index generation, opened as a unit."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import numpy.typing as npt

from rag.errors import IndexCorruptError
from rag.index.bm25 import BM25Index
from rag.index.dense import load_dense
from rag.index.generations import current_generation
from rag.index.manifest import Manifest
from rag.index.store import Store

STORE = "store.sqlite"
EMBEDDINGS = "embeddings.npy"
DENSE = "dense.faiss"
BM25 = "bm25"


@dataclass
class Snapshot:
    folder: Path
    manifest: Manifest
    store: Store
    bm25: BM25Index
    dense: faiss.Index
    embeddings: npt.NDArray[np.float32]

    @property
    def generation(self) -> int:
        return self.manifest.generation

    def close(self) -> None:
        self.store.close()


def open_generation(folder: Path) -> Snapshot:
    """Open and check every file of a generation; a damaged one is named in the error."""
    manifest = Manifest.read(folder)
    store = Store(folder / STORE)
    try:
        snapshot = Snapshot(
            folder,
            manifest,
            store,
            _bm25(folder / BM25),
            load_dense(folder / DENSE),
            _embeddings(folder / EMBEDDINGS),
        )
        _check_sizes(snapshot)
    except BaseException:
        store.close()
        raise
    return snapshot


def open_current(index_dir: Path) -> Snapshot:
    return open_generation(current_generation(index_dir))


def _embeddings(path: Path) -> npt.NDArray[np.float32]:
    try:
        vectors: npt.NDArray[np.float32] = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"damaged vectors {path}: {exc}") from None
    if vectors.ndim != 2:
        raise IndexCorruptError(f"damaged vectors {path}: shape {vectors.shape}")
    return vectors


def _bm25(folder: Path) -> BM25Index:
    try:
        return BM25Index.load(folder)
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(f"damaged BM25 index {folder}: {exc}") from None


def _check_sizes(s: Snapshot) -> None:
    """Every part holds one row per chunk, and vectors of the manifest's dimension."""
    n = s.store.counts()["chunks"]
    sizes = {
        EMBEDDINGS: len(s.embeddings),
        DENSE: s.dense.ntotal,
        BM25: s.bm25.n_docs,
    }
    for name, size in sizes.items():
        if size != n:
            raise IndexCorruptError(f"{s.folder / name} holds {size} rows, the store {n} chunks")
    dims = {EMBEDDINGS: s.embeddings.shape[1], DENSE: s.dense.d}
    for name, dim in dims.items():
        if dim != s.manifest.dimension:
            raise IndexCorruptError(
                f"{s.folder / name} holds {dim}-d vectors, "
                f"{s.manifest.path} says {s.manifest.dimension}"
            )
