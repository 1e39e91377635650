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
    manifest = Manifest.read(folder)
    store = Store(folder / STORE)
    try:
        embeddings = np.load(folder / EMBEDDINGS, mmap_mode="r")
        bm25 = BM25Index.load(folder / BM25)
    except (OSError, ValueError, KeyError) as exc:
        store.close()
        raise IndexCorruptError(f"damaged index arrays in {folder}: {exc}") from None
    snapshot = Snapshot(folder, manifest, store, bm25, load_dense(folder / DENSE), embeddings)
    _check_sizes(snapshot)
    return snapshot


def open_current(index_dir: Path) -> Snapshot:
    return open_generation(current_generation(index_dir))


def _check_sizes(s: Snapshot) -> None:
    n = s.store.counts()["chunks"]
    sizes = {
        "embeddings.npy": len(s.embeddings),
        "dense.faiss": s.dense.ntotal,
        "bm25": s.bm25.n_docs,
    }
    for name, size in sizes.items():
        if size != n:
            s.close()
            raise IndexCorruptError(f"{s.folder / name} holds {size} rows, the store {n} chunks")
