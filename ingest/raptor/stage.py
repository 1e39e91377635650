"""The RAPTOR step of an ingest: the tree brought up to date with the corpus
about to be written, and its summaries handed to the writer as entries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from tqdm import tqdm

from ingest.raptor.summaries import CACHE, Summariser
from ingest.raptor.tree import Node, build_tree, previous_groups, summary_rows
from ingest.report import IngestReport
from ingest.writer import Entry
from rag.append_cache import AppendCache
from rag.embedding import Embedder
from rag.index.store import DocumentRecord
from rag.llm.lazy import LazyLLM
from rag.settings import Settings


def tree_entries(
    settings: Settings,
    documents: Iterable[Entry],
    previous: Sequence[DocumentRecord],
    embedder: Embedder,
    report: IngestReport,
    progress: bool,
) -> list[Entry]:
    """The summaries of the tree over `documents` (every document the new
    generation holds), reusing the groups of the `previous` tree's summary
    documents and every summary already written for the same texts."""
    leaves = _leaves(documents)
    llm = LazyLLM(settings)
    summariser = Summariser(
        llm.tasks,
        AppendCache(settings.index_dir / CACHE, value="summary"),
        settings.raptor.summary_tokens,
    )
    bar = tqdm(desc="summaries", unit="", disable=not progress, leave=False)
    try:
        nodes = build_tree(
            leaves,
            previous_groups(previous),
            settings.raptor,
            summariser,
            embedder.embed,
            bar.update,
        )
    finally:
        bar.close()
        llm.close()
    report.summaries = len(nodes)
    report.summaries_written = summariser.written
    report.summary_seconds = summariser.seconds

    def count(text: str) -> int:
        return len(embedder.token_offsets(text))

    rows = [summary_rows(node, count) for node in nodes]
    return [Entry(r.doc, [r.chunk], r.vector.reshape(1, -1).astype(np.float32)) for r in rows]


def _leaves(documents: Iterable[Entry]) -> list[Node]:
    """Every chunk as a level-0 node, in the documents' order."""
    return [
        Node(c.chunk_id, 0, c.text, v, (c.chunk_id,), (e.doc.doc_id,), (e.doc.title,))
        for e in sorted(documents, key=lambda e: e.doc.source_key)
        for c, v in zip(e.chunks, e.vectors, strict=True)
    ]
