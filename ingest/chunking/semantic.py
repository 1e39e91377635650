"""Semantic chunking: break where adjacent sentences stop being similar.

Sentences are embedded with the index's own model; a break falls wherever the
cosine similarity of neighbours is below the document's `percentile`-th
similarity. Groups over the token budget are packed again with the recursive
rules. Overlap does not apply: breaks are chosen to separate topics. No break
falls between the rows of a table (`ingest.chunking.tables`).
"""

from __future__ import annotations

import numpy as np

from ingest.chunking.base import to_chunks
from ingest.chunking.recursive import pack, split_units
from ingest.chunking.spans import Span, TokenIndex
from ingest.chunking.tables import TableMap
from rag.documents import Chunk, Document
from rag.embedding import Embedder


class SemanticChunker:
    def __init__(self, embedder: Embedder, size: int, percentile: float) -> None:
        self._embedder = embedder
        self._size = size
        self._percentile = percentile

    def chunk(self, document: Document) -> list[Chunk]:
        text = document.text
        tokens = TokenIndex(self._embedder.token_offsets(text))
        tables = TableMap(text, tokens, self._size)
        units = split_units(text, tokens, self._size, tables)
        if len(units) < 3:
            whole = pack(units, tokens, self._size, 0, tables)
            return to_chunks(document, whole, self._embedder, self._size, tables)
        vectors = self._embedder.embed([text[u.start : u.end] for u in units])
        similarity = np.einsum("ij,ij->i", vectors[:-1], vectors[1:])
        threshold = float(np.percentile(similarity, self._percentile))
        spans: list[Span] = []
        group: list[Span] = [units[0]]
        for unit, sim in zip(units[1:], similarity, strict=True):
            if sim < threshold and not (unit.table >= 0 and unit.table == group[-1].table):
                spans.extend(pack(group, tokens, self._size, 0, tables))
                group = []
            group.append(unit)
        spans.extend(pack(group, tokens, self._size, 0, tables))
        return to_chunks(document, spans, self._embedder, self._size, tables)
