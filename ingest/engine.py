"""Where an ingest's heavy stages run: here (the default), or on a cluster.

An `Engine` takes over parsing, chunking and embedding the changed files and
building the shards' BM25 and FAISS parts; the run around it (scanning,
change detection, the store, the generation switch) is the same, so both
produce the same index. `rag.distributed.ingest.RayEngine` is the one other
engine.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from ingest.parsing import ParseFailure
from rag.documents import Document
from rag.index.store import ChunkRecord


@dataclass(frozen=True)
class PreparedDoc:
    """A document chunked and embedded: its store rows and one vector per chunk."""

    doc: Document
    chunks: list[ChunkRecord]
    vectors: npt.NDArray[np.float32]


@dataclass(frozen=True)
class PreparedFile:
    docs: list[PreparedDoc]
    seconds: float  # parse time


class Engine(Protocol):
    def prepare(self, paths: list[Path]) -> Iterator[tuple[Path, PreparedFile | ParseFailure]]:
        """Each path (in the order given) with its documents chunked and embedded,
        or why it could not be read."""
        ...

    def shape(self) -> tuple[int, int]:
        """The embedding model's dimension and token window."""
        ...

    def write_shards(
        self,
        folder: Path,
        texts: Sequence[str],
        vectors: npt.NDArray[np.float32],
        bounds: list[int],
    ) -> int:
        """Write every shard's BM25 and FAISS parts into the generation `folder`;
        returns the corpus's BM25 term count."""
        ...
