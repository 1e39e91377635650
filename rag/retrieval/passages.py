"""Retrieved chunks with everything a citation needs: document, pages, span."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

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


def load_passages(store: Store, positions: Sequence[int]) -> list[Passage]:
    """Passages for chunk positions, in the order given."""
    chunks = store.chunks_at(positions)
    docs = store.document_heads(sorted({c["doc_id"] for c in chunks}))
    return [_passage(chunk, docs[chunk["doc_id"]]) for chunk in chunks]


def _passage(chunk: dict[str, object], doc: dict[str, object]) -> Passage:
    return Passage(
        position=int(str(chunk["pos"])),
        chunk_id=str(chunk["chunk_id"]),
        doc_id=str(chunk["doc_id"]),
        title=str(doc["title"]),
        source_path=str(doc["source_path"]),
        source_key=str(doc["source_key"]),
        page_start=_int_or_none(chunk["page_start"]),
        page_end=_int_or_none(chunk["page_end"]),
        char_start=int(str(chunk["char_start"])),
        char_end=int(str(chunk["char_end"])),
        heading_path=tuple(json.loads(str(chunk["heading_path"]))),
        text=str(chunk["text"]),
        metadata=json.loads(str(doc["metadata"])),
    )


def _int_or_none(value: object) -> int | None:
    return None if value is None else int(str(value))
