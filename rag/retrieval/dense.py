"""Dense retrieval: the question embedded with the index's own model, FAISS search."""

from __future__ import annotations

from rag.embedding import Embedder
from rag.index.dense import search_dense
from rag.index.snapshot import Snapshot
from rag.retrieval.hits import Hit, ranked


class DenseRetriever:
    def __init__(self, snapshot: Snapshot, embedder: Embedder) -> None:
        self._index = snapshot.dense
        self._embedder = embedder

    def retrieve(self, question: str, k: int) -> list[Hit]:
        query = self._embedder.embed([question])[0]
        hits = search_dense(self._index, query, k)
        return ranked(hits.positions.tolist(), hits.scores.tolist())
