"""Chunk text and metadata in SQLite: files, documents and chunks.

`chunks.pos` is the row of the chunk's vector in `embeddings.npy`, its id in
FAISS and its column in BM25; positions run 0..n-1 in document order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag.documents import Chunk, Document
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


Row = dict[str, Any]


def document_row(doc: Document) -> Row:
    return {
        "doc_id": doc.doc_id,
        "source_path": doc.source_path,
        "source_key": doc.source_key,
        "title": doc.title,
        "content_hash": doc.content_hash,
        "text": doc.text,
        "pages": json.dumps([[p.number, p.start, p.end] for p in doc.pages]),
        "headings": json.dumps([[h.offset, list(h.path)] for h in doc.headings]),
        "metadata": json.dumps(dict(doc.metadata), sort_keys=True),
        "warnings": json.dumps(list(doc.warnings)),
    }


def chunk_row(chunk: Chunk) -> Row:
    return {
        "pos": -1,
        "chunk_id": chunk.chunk_id,
        "doc_id": chunk.doc_id,
        "ordinal": chunk.ordinal,
        "text": chunk.text,
        "text_hash": chunk.text_hash,
        "char_start": chunk.char_start,
        "char_end": chunk.char_end,
        "page_start": chunk.page_start,
        "page_end": chunk.page_end,
        "heading_path": json.dumps(list(chunk.heading_path)),
        "n_tokens": chunk.n_tokens,
    }


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
        self, files: Iterable[FileRecord], docs: Iterable[Row], chunks: Iterable[Row]
    ) -> None:
        with self._db:
            self._db.executemany(
                "INSERT INTO files VALUES (?, ?, ?, ?)",
                ((f.source_path, f.size, f.mtime_ns, f.sha256) for f in files),
            )
            self._insert("documents", DOC_COLUMNS, docs)
            self._insert("chunks", CHUNK_COLUMNS, chunks)

    def _insert(self, table: str, columns: Sequence[str], rows: Iterable[Row]) -> None:
        marks = ", ".join("?" for _ in columns)
        self._db.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
            ([row[c] for c in columns] for row in rows),
        )

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """All rows of a query; one query at a time per connection across threads."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def files(self) -> dict[str, FileRecord]:
        return {r["source_path"]: FileRecord(**dict(r)) for r in self._rows("SELECT * FROM files")}

    def documents(self) -> list[Row]:
        return [dict(r) for r in self._rows("SELECT * FROM documents ORDER BY source_key")]

    def document(self, doc_id: str) -> Row | None:
        rows = self._rows("SELECT * FROM documents WHERE doc_id = ?", (doc_id,))
        return dict(rows[0]) if rows else None

    def document_heads(self, doc_ids: Sequence[str]) -> dict[str, Row]:
        """Documents' metadata and page spans without their text, by id."""
        marks = ", ".join("?" for _ in doc_ids)
        sql = f"""SELECT doc_id, source_path, source_key, title, content_hash, metadata, warnings,
                         pages
                  FROM documents WHERE doc_id IN ({marks})"""
        return {r["doc_id"]: dict(r) for r in self._rows(sql, list(doc_ids))}

    def chunks_of(self, doc_id: str) -> list[Row]:
        sql = "SELECT * FROM chunks WHERE doc_id = ? ORDER BY ordinal"
        return [dict(r) for r in self._rows(sql, (doc_id,))]

    def chunks_at(self, positions: Sequence[int]) -> list[Row]:
        """Chunks at the given positions, in that order."""
        marks = ", ".join("?" for _ in positions)
        rows = self._rows(f"SELECT * FROM chunks WHERE pos IN ({marks})", list(positions))
        by_pos = {r["pos"]: dict(r) for r in rows}
        return [by_pos[p] for p in positions if p in by_pos]

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

    def document_summaries(self) -> list[Row]:
        query = """SELECT d.doc_id, d.source_path, d.source_key, d.title, d.metadata,
                          COUNT(c.pos) AS n_chunks
                   FROM documents d LEFT JOIN chunks c ON c.doc_id = d.doc_id
                   GROUP BY d.doc_id ORDER BY d.source_key"""
        return [dict(r) for r in self._rows(query)]
