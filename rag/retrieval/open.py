"""Opening an index generation for querying: the one way to do it.

A generation is opened completely, checked against the settings its queries
depend on (`QUERY_FIELDS`: the embedding model, the analyzer), and handed out
as a `HybridRetriever`, which also hands out the passages and the store of its
generation. The service, `rag search`/`rag ask`, the eval suites and the
benchmarks all open an index here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.embedding import Embedder, make_embedder
from rag.errors import RagError
from rag.index.generations import current_generation
from rag.index.manifest import QUERY_FIELDS
from rag.index.snapshot import ShardOpener, Snapshot, local_shards, open_generation
from rag.index.tuning import TunedWeights, tuned_weights
from rag.llm.lazy import LazyLLM
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.rerank import Reranker, make_reranker
from rag.settings import Settings


def open_checked(folder: Path, settings: Settings, shards: ShardOpener = local_shards) -> Snapshot:
    """A generation opened completely and checked against the query settings;
    its shards are searched here, or where `shards` opens them."""
    snapshot = open_generation(folder, shards)
    try:
        snapshot.manifest.check(settings, QUERY_FIELDS)
    except RagError:
        snapshot.close()
        raise
    return snapshot


def open_queryable(
    folder: Path,
    settings: Settings,
    embedder: Embedder,
    reranker: Reranker | None = None,
    shards: ShardOpener = local_shards,
) -> HybridRetriever:
    """The retriever of generation `folder`, fusing with the weights `rag tune`
    chose for its index where `retrieval.use_tuning` allows; close it with
    `retriever.close()`."""
    snapshot = open_checked(folder, settings, shards)
    tuned = index_tuning(folder.parent.parent, settings)
    return HybridRetriever(
        snapshot, embedder, settings.tokenizer, settings.retrieval, reranker, tuned=tuned
    )


def index_tuning(index_dir: Path, settings: Settings) -> TunedWeights | None:
    """The tuned fusion weights of `index_dir` in force under `settings`."""
    return tuned_weights(index_dir) if settings.retrieval.use_tuning else None


@contextmanager
def open_retriever(
    settings: Settings,
    embedder: Embedder | None = None,
    llm: LazyLLM | None = None,
    index: Path | None = None,
) -> Iterator[HybridRetriever]:
    """The retriever of the live generation of `index` (default
    `settings.index_dir`). The configured reranker shares the process's model
    `llm`; without one, a model of its own is made, and closed on exit with
    the index."""
    own = llm is None
    model = llm or LazyLLM(settings)
    folder = current_generation(index or settings.index_dir)
    embed = embedder or make_embedder(settings.embedding)
    retriever = open_queryable(folder, settings, embed, make_reranker(settings, model))
    try:
        yield retriever
    finally:
        retriever.close()
        if own:
            model.close()
