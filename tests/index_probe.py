"""What an index holds and answers, as one comparable value.

Fault tests compare the live index after a fault with the one before it, or
with a clean build of the same corpus: the same documents, the same chunks
(ids and texts), and the same ranked chunk ids and scores for fixed queries in
every retrieval mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rag.embedding import Embedder
from rag.index.snapshot import open_current
from rag.modes import FusionMode
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import build_settings

QUERIES = (
    "which animal does a waggle dance",
    "what pulls the ocean tides",
    "how do glaciers shape valleys",
    "why does bread dough rise",
)
MODES = (FusionMode.DENSE, FusionMode.SPARSE, FusionMode.RRF)

Ranking = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Probe:
    documents: tuple[tuple[str, str, str], ...]  # doc id, source key, content hash
    chunks: tuple[tuple[str, str, str], ...]  # chunk id, doc id, text
    rankings: tuple[Ranking, ...]  # per query and mode: (chunk id, score)


def probe(index: Path, embedder: Embedder, top_k: int = 5) -> Probe:
    """Open the live generation of `index` as a service would, and read it whole."""
    settings = build_settings({"index_dir": index}, use_env=False)
    snapshot = open_current(index)
    try:
        store = snapshot.store
        documents = tuple((d.doc_id, d.source_key, d.content_hash) for d in store.documents())
        positions = list(range(store.counts()["chunks"]))
        chunks = tuple((c.chunk_id, c.doc_id, c.text) for c in store.chunks_at(positions))
        retriever = HybridRetriever(snapshot, embedder, settings.tokenizer, settings.retrieval)
        rankings = []
        for query in QUERIES:
            for mode in MODES:
                hits = retriever.search(query, top_k, mode).hits
                # Vectors carried over and vectors computed afresh agree to float32
                # rounding; 5 decimals is far above that and far below any real change.
                rankings.append(tuple((chunks[h.position][0], round(h.score, 5)) for h in hits))
        return Probe(documents, chunks, tuple(rankings))
    finally:
        snapshot.close()
