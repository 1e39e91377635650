"""One complete, read-only index generation, opened as a unit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rag.errors import IndexCorruptError
from rag.index.fanout import FanOut, ShardSearcher
from rag.index.generations import current_generation
from rag.index.manifest import Manifest
from rag.index.shards import open_shard
from rag.index.store import Store

STORE = "store.sqlite"
EMBEDDINGS = "embeddings.npy"
Vectors = npt.NDArray[np.float32]
# Opens the searchers of a generation's shards: here, or in other processes.
ShardOpener = Callable[[Path, Manifest, Vectors], list[ShardSearcher]]


@dataclass
class Snapshot:
    folder: Path
    manifest: Manifest
    store: Store
    embeddings: Vectors
    shards: list[ShardSearcher]
    search: FanOut = field(init=False)

    def __post_init__(self) -> None:
        self.search = FanOut(self.shards)

    @property
    def generation(self) -> int:
        return self.manifest.generation

    def close(self) -> None:
        self.search.close()
        self.store.close()


def local_shards(folder: Path, manifest: Manifest, embeddings: Vectors) -> list[ShardSearcher]:
    """Every shard of the generation, opened in this process."""
    bounds = manifest.shard_bounds
    return [
        open_shard(folder, i, bounds, embeddings, manifest.dimension)
        for i in range(len(bounds) - 1)
    ]


def open_generation(folder: Path, shards: ShardOpener = local_shards) -> Snapshot:
    """Open and check every file of a generation; a damaged one is named in the error."""
    manifest = Manifest.read(folder)
    store = Store(folder / STORE)
    try:
        embeddings = _embeddings(folder / EMBEDDINGS)
        _check_sizes(folder, manifest, store, embeddings)
        snapshot = Snapshot(
            folder, manifest, store, embeddings, shards(folder, manifest, embeddings)
        )
    except BaseException:
        store.close()
        raise
    return snapshot


def open_current(index_dir: Path) -> Snapshot:
    return open_generation(current_generation(index_dir))


def _embeddings(path: Path) -> Vectors:
    try:
        vectors: Vectors = np.load(path, mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"damaged vectors {path}: {exc}") from None
    if vectors.ndim != 2:
        raise IndexCorruptError(f"damaged vectors {path}: shape {vectors.shape}")
    return vectors


def _check_sizes(folder: Path, manifest: Manifest, store: Store, embeddings: Vectors) -> None:
    """The vectors hold one row per chunk, of the manifest's dimension, and the
    shards cover every chunk (each shard checks its own parts when opened)."""
    n = store.counts()["chunks"]
    if len(embeddings) != n:
        raise IndexCorruptError(
            f"{folder / EMBEDDINGS} holds {len(embeddings)} rows, the store {n} chunks"
        )
    if embeddings.shape[1] != manifest.dimension:
        raise IndexCorruptError(
            f"{folder / EMBEDDINGS} holds {embeddings.shape[1]}-d vectors, "
            f"{manifest.path} says {manifest.dimension}"
        )
    if manifest.shard_bounds[-1] != n:
        raise IndexCorruptError(
            f"{manifest.path}: its shards cover {manifest.shard_bounds[-1]} chunks, "
            f"the store holds {n}"
        )
