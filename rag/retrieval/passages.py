"""Retrieved chunks with everything a citation needs: document, pages, span.

A passage keeps the page spans of the pages it touches (from the document's
page map, read without the document's text), so the page of any span inside
it is known without another look-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.documents import PageSpan, page_range
from rag.index.store import ChunkRecord, DocumentHead, Store


@dataclass(frozen=True)
class Passage:
    position: int
    chunk_id: str
    doc_id: str
    title: str
    source_path: str
    source_key: str
    page_start: int | None
    page_end: int | None
    char_start: int
    char_end: int
    heading_path: tuple[str, ...]
    text: str
    metadata: dict[str, str]
    pages: tuple[PageSpan, ...] = ()  # the document's pages page_start..page_end

    def span_pages(self, start: int, end: int) -> tuple[int | None, int | None]:
        """First and last page of the document characters `start:end`, a span
        inside this passage; (None, None) for an unpaged document."""
        return page_range(self.pages, start, end)


def load_passages(store: Store, positions: Sequence[int]) -> list[Passage]:
    """Passages for chunk positions, in the order given."""
    chunks = store.chunks_at(positions)
    docs = store.document_heads(sorted({c.doc_id for c in chunks}))
    return [_passage(c, docs[c.doc_id]) for c in chunks]


def _passage(chunk: ChunkRecord, doc: DocumentHead) -> Passage:
    return Passage(
        position=chunk.pos,
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        title=doc.title,
        source_path=doc.source_path,
        source_key=doc.source_key,
        page_start=chunk.page_start,
        page_end=chunk.page_end,
        char_start=chunk.char_start,
        char_end=chunk.char_end,
        heading_path=chunk.heading_path,
        text=chunk.text,
        metadata=dict(doc.metadata),
        pages=_touched(doc.pages, chunk.page_start, chunk.page_end),
    )


def _touched(
    pages: tuple[PageSpan, ...], first: int | None, last: int | None
) -> tuple[PageSpan, ...]:
    if first is None or last is None:
        return ()
    return tuple(p for p in pages if first <= p.number <= last)
