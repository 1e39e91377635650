"""Dense retrieval: the question embedded with the index's own model, FAISS search
(over every shard, merged)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rag.embedding import Embedder, Vectors
from rag.index.snapshot import Snapshot
from rag.retrieval.hits import Hit, ranked


class DenseRetriever:
    def __init__(self, snapshot: Snapshot, embedder: Embedder) -> None:
        self._snapshot = snapshot
        self._embedder = embedder

    def embed(self, question: str) -> Vectors:
        vector: Vectors = self._embedder.embed([question])[0]
        return vector

    def retrieve(
        self, question: str, k: int, allowed: npt.NDArray[np.int64] | None = None
    ) -> list[Hit]:
        return self.retrieve_vector(self.embed(question), k, allowed)

    def retrieve_vector(
        self, query: Vectors, k: int, allowed: npt.NDArray[np.int64] | None = None
    ) -> list[Hit]:
        hits = self._snapshot.search.dense(query, k, allowed)
        return ranked(hits.positions.tolist(), hits.scores.tolist())
