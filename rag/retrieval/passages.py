"""Retrieved chunks with everything a citation needs: document, pages, span.

A passage keeps the page spans of the pages it touches (from the document's
page map, read without the document's text), so the page of any span inside
it is known without another look-up.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from rag.documents import PageSpan, page_range
from rag.index.store import Store


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
    docs = store.document_heads(sorted({c["doc_id"] for c in chunks}))
    pages = {doc_id: _pages(str(doc["pages"])) for doc_id, doc in docs.items()}
    return [_passage(c, docs[c["doc_id"]], pages[c["doc_id"]]) for c in chunks]


def _pages(stored: str) -> tuple[PageSpan, ...]:
    return tuple(PageSpan(int(n), int(a), int(b)) for n, a, b in json.loads(stored))


def _passage(
    chunk: dict[str, object], doc: dict[str, object], pages: tuple[PageSpan, ...]
) -> Passage:
    first, last = _int_or_none(chunk["page_start"]), _int_or_none(chunk["page_end"])
    return Passage(
        position=int(str(chunk["pos"])),
        chunk_id=str(chunk["chunk_id"]),
        doc_id=str(chunk["doc_id"]),
        title=str(doc["title"]),
        source_path=str(doc["source_path"]),
        source_key=str(doc["source_key"]),
        page_start=first,
        page_end=last,
        char_start=int(str(chunk["char_start"])),
        char_end=int(str(chunk["char_end"])),
        heading_path=tuple(json.loads(str(chunk["heading_path"]))),
        text=str(chunk["text"]),
        metadata=json.loads(str(doc["metadata"])),
        pages=_touched(pages, first, last),
    )


def _touched(
    pages: tuple[PageSpan, ...], first: int | None, last: int | None
) -> tuple[PageSpan, ...]:
    if first is None or last is None:
        return ()
    return tuple(p for p in pages if first <= p.number <= last)


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(str(value))
