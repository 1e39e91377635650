"""Writing one complete generation: store, vectors, BM25, FAISS, manifest."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rag.index.bm25 import BM25Index
from rag.index.dense import build_dense, save_dense
from rag.index.manifest import new_manifest
from rag.index.snapshot import BM25, DENSE, EMBEDDINGS, STORE, Snapshot
from rag.index.store import FileRecord, Row, Store
from rag.index.terms import TermAnalyzer
from rag.settings import Settings


@dataclass
class Entry:
    """A document with its chunk rows and their vectors, ready to be written."""

    doc: Row
    chunks: list[Row]
    vectors: npt.NDArray[np.float32]


def write_generation(
    folder: Path,
    number: int,
    settings: Settings,
    files: list[FileRecord],
    entries: list[Entry],
    dimension: int,
    max_tokens: int,
) -> int:
    """Write every part of the generation into `folder`; returns the chunk count."""
    entries = sorted(entries, key=lambda e: e.doc["source_key"])
    chunks = [dict(row, pos=pos) for pos, row in enumerate(c for e in entries for c in e.chunks)]
    vectors = _stack([e.vectors for e in entries], dimension)
    store = Store(folder / STORE, create=True)
    try:
        store.write(files, (e.doc for e in entries), chunks)
    finally:
        store.close()
    np.save(folder / EMBEDDINGS, vectors)
    analyzer = TermAnalyzer(settings.tokenizer)
    # A generator: each chunk's terms become ids and are freed before the next is
    # analysed (a list of 1M analysed chunks held 100M strings, about 6 GB).
    bm25 = BM25Index.build((analyzer.terms(c["text"]) for c in chunks), settings.bm25)
    bm25.save(folder / BM25)
    save_dense(build_dense(vectors, settings.dense), folder / DENSE)
    counts = {
        "files": len(files),
        "documents": len(entries),
        "chunks": len(chunks),
        "terms": len(bm25.vocab),
    }
    new_manifest(settings, number, dimension, max_tokens, counts).write(folder)
    return len(chunks)


def _stack(parts: list[npt.NDArray[np.float32]], dimension: int) -> npt.NDArray[np.float32]:
    if not parts:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def kept_entry(row: Row, old: Snapshot) -> Entry:
    """An unchanged document carried over from the live generation, vectors included."""
    chunks = old.store.chunks_of(row["doc_id"])
    positions = [c["pos"] for c in chunks]
    vectors = np.asarray(old.embeddings[positions], dtype=np.float32)
    return Entry(row, chunks, vectors.reshape(len(positions), old.manifest.dimension))
