"""Opening the live index for querying: checked against the settings, with its retriever."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rag.embedding import Embedder, make_embedder
from rag.index.manifest import QUERY_FIELDS
from rag.index.snapshot import open_current
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.rerank import make_reranker
from rag.settings import Settings


@contextmanager
def open_retriever(
    settings: Settings, embedder: Embedder | None = None
) -> Iterator[HybridRetriever]:
    """The live generation's hybrid retriever; the index closes on exit."""
    snapshot = open_current(settings.index_dir)
    try:
        snapshot.manifest.check(settings, QUERY_FIELDS)
        model = embedder or make_embedder(settings.embedding)
        yield HybridRetriever(
            snapshot, model, settings.tokenizer, settings.retrieval, make_reranker(settings)
        )
    finally:
        snapshot.close()
