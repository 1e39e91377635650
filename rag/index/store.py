"""Chunk text and metadata in SQLite: files, documents and chunks.

Records go in and come out as frozen dataclasses with decoded fields
(`DocumentRecord`, `DocumentHead`, `DocumentSummary`, `ChunkRecord`): the JSON
columns are encoded and decoded here alone.

`chunks.pos` is the row of the chunk's vector in `embeddings.npy`, its id in
FAISS and its column in BM25; positions run 0..n-1 in document order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.documents import Chunk, Document, HeadingMark, PageSpan
from rag.errors import IndexCorruptError

SCHEMA = """
CREATE TABLE files (
    source_path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    source_path TEXT NOT NULL,
    source_key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    pages TEXT NOT NULL,
    headings TEXT NOT NULL,
    metadata TEXT NOT NULL,
    warnings TEXT NOT NULL
);
CREATE INDEX documents_source ON documents(source_path);
CREATE TABLE chunks (
    pos INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    page_start INTEGER,
    page_end INTEGER,
    heading_path TEXT NOT NULL,
    n_tokens INTEGER NOT NULL
);
CREATE INDEX chunks_doc ON chunks(doc_id);
"""

WRITE_BATCH = 20_000  # chunk rows per insert while writing a generation

DOC_COLUMNS = (
    "doc_id",
    "source_path",
    "source_key",
    "title",
    "content_hash",
    "text",
    "pages",
    "headings",
    "metadata",
    "warnings",
)
CHUNK_COLUMNS = (
    "pos",
    "chunk_id",
    "doc_id",
    "ordinal",
    "text",
    "text_hash",
    "char_start",
    "char_end",
    "page_start",
    "page_end",
    "heading_path",
    "n_tokens",
)


@dataclass(frozen=True)
class FileRecord:
    source_path: str
    size: int
    mtime_ns: int
    sha256: str


@dataclass(frozen=True)
class DocumentHead:
    """A document's identity, metadata and page spans, without its text."""

    doc_id: str
    source_path: str
    source_key: str
    title: str
    content_hash: str
    metadata: Mapping[str, str]
    warnings: tuple[str, ...]
    pages: tuple[PageSpan, ...]


@dataclass(frozen=True)
class DocumentRecord(DocumentHead):
    """A stored document, text and heading marks included."""

    text: str
    headings: tuple[HeadingMark, ...]

    @classmethod
    def of(cls, doc: Document) -> DocumentRecord:
        return cls(
            doc_id=doc.doc_id,
            source_path=doc.source_path,
            source_key=doc.source_key,
            title=doc.title,
            content_hash=doc.content_hash,
            metadata=dict(doc.metadata),
            warnings=tuple(doc.warnings),
            pages=tuple(doc.pages),
            text=doc.text,
            headings=tuple(doc.headings),
        )


@dataclass(frozen=True)
class DocumentSummary:
    doc_id: str
    source_path: str
    source_key: str
    title: str
    metadata: Mapping[str, str]
    n_chunks: int


@dataclass(frozen=True)
class ChunkRecord:
    """A stored chunk; `pos` is its row in the vectors (-1 until written)."""

    pos: int
    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    text_hash: str
    char_start: int
    char_end: int
    page_start: int | None
    page_end: int | None
    heading_path: tuple[str, ...]
    n_tokens: int

    @classmethod
    def of(cls, chunk: Chunk) -> ChunkRecord:
        return cls(
            pos=-1,
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            ordinal=chunk.ordinal,
            text=chunk.text,
            text_hash=chunk.text_hash,
            char_start=chunk.char_start,
            char_end=chunk.char_end,
            page_start=chunk.page_start,
            page_end=chunk.page_end,
            heading_path=tuple(chunk.heading_path),
            n_tokens=chunk.n_tokens,
        )


def _document_columns(doc: DocumentRecord) -> tuple[Any, ...]:
    """The `documents` row of a record, in DOC_COLUMNS order (JSON for structures)."""
    return (
        doc.doc_id,
        doc.source_path,
        doc.source_key,
        doc.title,
        doc.content_hash,
        doc.text,
        json.dumps([[p.number, p.start, p.end] for p in doc.pages]),
        json.dumps([[h.offset, list(h.path)] for h in doc.headings]),
        json.dumps(dict(doc.metadata), sort_keys=True),
        json.dumps(list(doc.warnings)),
    )


def _chunk_columns(chunk: ChunkRecord) -> tuple[Any, ...]:
    """The `chunks` row of a record, in CHUNK_COLUMNS order."""
    return (
        chunk.pos,
        chunk.chunk_id,
        chunk.doc_id,
        chunk.ordinal,
        chunk.text,
        chunk.text_hash,
        chunk.char_start,
        chunk.char_end,
        chunk.page_start,
        chunk.page_end,
        json.dumps(list(chunk.heading_path)),
        chunk.n_tokens,
    )


def _pages(stored: str) -> tuple[PageSpan, ...]:
    return tuple(PageSpan(int(n), int(a), int(b)) for n, a, b in json.loads(stored))


def _head(row: sqlite3.Row) -> DocumentHead:
    return DocumentHead(
        doc_id=row["doc_id"],
        source_path=row["source_path"],
        source_key=row["source_key"],
        title=row["title"],
        content_hash=row["content_hash"],
        metadata=json.loads(row["metadata"]),
        warnings=tuple(json.loads(row["warnings"])),
        pages=_pages(row["pages"]),
    )


def _document(row: sqlite3.Row) -> DocumentRecord:
    headings = tuple(HeadingMark(int(o), tuple(p)) for o, p in json.loads(row["headings"]))
    head = _head(row)
    return DocumentRecord(**vars(head), text=row["text"], headings=headings)


def _chunk(row: sqlite3.Row) -> ChunkRecord:
    return ChunkRecord(
        pos=int(row["pos"]),
        chunk_id=row["chunk_id"],
        doc_id=row["doc_id"],
        ordinal=int(row["ordinal"]),
        text=row["text"],
        text_hash=row["text_hash"],
        char_start=int(row["char_start"]),
        char_end=int(row["char_end"]),
        page_start=row["page_start"],
        page_end=row["page_end"],
        heading_path=tuple(json.loads(row["heading_path"])),
        n_tokens=int(row["n_tokens"]),
    )


class Store:
    """A read/write handle on one generation's `store.sqlite`."""

    def __init__(self, path: Path, *, create: bool = False) -> None:
        if not create and not path.is_file():
            raise IndexCorruptError(f"missing store {path}")
        self.path = path
        uri = f"file:{path}?mode={'rwc' if create else 'ro'}"
        self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        if create:
            self._db.executescript(SCHEMA)
        else:
            self._check()

    def _check(self) -> None:
        """`PRAGMA quick_check`: every page and b-tree readable and well formed."""
        try:
            result = self._db.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise IndexCorruptError(f"damaged store {self.path}: {exc}") from None
        if result != "ok":
            self._db.close()
            problems = "; ".join(str(result).splitlines())
            raise IndexCorruptError(f"damaged store {self.path}: {problems}")

    def close(self) -> None:
        self._db.close()

    def write(
        self,
        files: Iterable[FileRecord],
        entries: Iterable[tuple[DocumentRecord, Sequence[ChunkRecord]]],
    ) -> None:
        """Every row in one transaction; documents and their chunks are inserted a
        batch at a time as `entries` yields them, so none of them is held."""
        with self._db:
            self._db.executemany(
                "INSERT INTO files VALUES (?, ?, ?, ?)",
                ((f.source_path, f.size, f.mtime_ns, f.sha256) for f in files),
            )
            docs: list[tuple[Any, ...]] = []
            chunks: list[tuple[Any, ...]] = []
            for doc, its_chunks in entries:
                docs.append(_document_columns(doc))
                chunks += [_chunk_columns(c) for c in its_chunks]
                if len(chunks) >= WRITE_BATCH:
                    self._flush(docs, chunks)
            self._flush(docs, chunks)

    def _flush(self, docs: list[tuple[Any, ...]], chunks: list[tuple[Any, ...]]) -> None:
        self._insert("documents", DOC_COLUMNS, docs)
        self._insert("chunks", CHUNK_COLUMNS, chunks)
        docs.clear()
        chunks.clear()

    def _insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        self._db.executemany(sql, rows)

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """All rows of a query; one query at a time per connection across threads."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def files(self) -> dict[str, FileRecord]:
        return {r["source_path"]: FileRecord(**dict(r)) for r in self._rows("SELECT * FROM files")}

    def documents(self) -> list[DocumentRecord]:
        return [_document(r) for r in self._rows("SELECT * FROM documents ORDER BY source_key")]

    def document(self, doc_id: str) -> DocumentRecord | None:
        rows = self._rows("SELECT * FROM documents WHERE doc_id = ?", (doc_id,))
        return _document(rows[0]) if rows else None

    def document_heads(self, doc_ids: Sequence[str]) -> dict[str, DocumentHead]:
        """Documents' metadata and page spans without their text, by id."""
        marks = ", ".join("?" for _ in doc_ids)
        sql = f"""SELECT doc_id, source_path, source_key, title, content_hash, metadata, warnings,
                         pages
                  FROM documents WHERE doc_id IN ({marks})"""
        return {r["doc_id"]: _head(r) for r in self._rows(sql, list(doc_ids))}

    def chunks_of(self, doc_id: str) -> list[ChunkRecord]:
        sql = "SELECT * FROM chunks WHERE doc_id = ? ORDER BY ordinal"
        return [_chunk(r) for r in self._rows(sql, (doc_id,))]

    def chunks_at(self, positions: Sequence[int]) -> list[ChunkRecord]:
        """Chunks at the given positions, in that order."""
        marks = ", ".join("?" for _ in positions)
        rows = self._rows(f"SELECT * FROM chunks WHERE pos IN ({marks})", list(positions))
        by_pos = {r["pos"]: _chunk(r) for r in rows}
        return [by_pos[p] for p in positions if p in by_pos]

    def summary_chunks(self, prefix: str) -> list[tuple[int, dict[str, str]]]:
        """Position and document metadata of the chunks of documents whose
        `source_key` starts with `prefix` (RAPTOR's summaries)."""
        sql = """SELECT c.pos, d.metadata FROM chunks c JOIN documents d ON d.doc_id = c.doc_id
                 WHERE d.source_key >= ? AND d.source_key < ? ORDER BY c.pos"""
        after = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        return [(int(r[0]), json.loads(r[1])) for r in self._rows(sql, (prefix, after))]

    def positions_of(self, chunk_ids: Sequence[str]) -> dict[str, int]:
        """The positions of the chunks with these ids, by id (absent ids left out)."""
        found: dict[str, int] = {}
        for start in range(0, len(chunk_ids), 900):  # under SQLite's bound-parameter limit
            part = list(chunk_ids[start : start + 900])
            marks = ", ".join("?" for _ in part)
            sql = f"SELECT chunk_id, pos FROM chunks WHERE chunk_id IN ({marks})"
            found.update((r[0], int(r[1])) for r in self._rows(sql, part))
        return found

    def chunk_texts(self) -> list[tuple[int, str, str]]:
        rows = self._rows("SELECT pos, text, text_hash FROM chunks ORDER BY pos")
        return [(r[0], r[1], r[2]) for r in rows]

    def doc_ids_by_position(self) -> list[str]:
        return [r[0] for r in self._rows("SELECT doc_id FROM chunks ORDER BY pos")]

    def positions_where(self, where: str, params: Sequence[Any]) -> list[int]:
        """Chunk positions whose document matches an SQL condition on `d` (documents)."""
        sql = f"SELECT c.pos FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE {where}"
        return [r[0] for r in self._rows(sql + " ORDER BY c.pos", params)]

    def metadata_keys(self) -> set[str]:
        rows = self._rows("SELECT DISTINCT j.key FROM documents, json_each(documents.metadata) j")
        return {r[0] for r in rows}

    def counts(self) -> dict[str, int]:
        def count(table: str) -> int:
            return int(self._rows(f"SELECT COUNT(*) FROM {table}")[0][0])

        return {table: count(table) for table in ("files", "documents", "chunks")}

    def document_summaries(self) -> list[DocumentSummary]:
        query = """SELECT d.doc_id, d.source_path, d.source_key, d.title, d.metadata,
                          COUNT(c.pos) AS n_chunks
                   FROM documents d LEFT JOIN chunks c ON c.doc_id = d.doc_id
                   GROUP BY d.doc_id ORDER BY d.source_key"""
        return [
            DocumentSummary(
                r["doc_id"],
                r["source_path"],
                r["source_key"],
                r["title"],
                json.loads(r["metadata"]),
                int(r["n_chunks"]),
            )
            for r in self._rows(query)
        ]
