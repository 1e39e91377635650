"""Retrieved chunks with everything a citation needs: document, pages, span.

A passage keeps the page spans of the pages it touches (from the document's
page map, read without the document's text), so the page of any span inside
it is known without another look-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.documents import PageSpan, document_offset, page_range, prefix_chars
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

    @property
    def prefix_chars(self) -> int:
        """Characters at the head of `text` that are not document text at this
        span: a table's repeated header (`rag.documents.Chunk`)."""
        return prefix_chars(self.text, self.char_start, self.char_end)

    def document_offset(self, offset: int) -> int:
        """The document offset of `text[offset]`: `text` may begin with a table's
        repeated header, not document text at this span (`rag.documents.Chunk`)."""
        return document_offset(self.text, self.char_start, self.char_end, offset)

    def span_pages(self, start: int, end: int) -> tuple[int | None, int | None]:
        """First and last page of the document characters `start:end`, a span
        inside this passage; (None, None) for an unpaged document."""
        return page_range(self.pages, start, end)

    def ocr_pages(self, first: int | None = None, last: int | None = None) -> list[int]:
        """This passage's pages (or pages `first..last`) whose text was read by
        OCR (the document's `ocr_pages` metadata)."""
        read = self.metadata.get("ocr_pages", "")
        if not read:
            return []
        low = self.page_start if first is None else first
        high = self.page_end if last is None else last
        if low is None or high is None:
            return []
        return [n for n in map(int, read.split(",")) if low <= n <= high]


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
