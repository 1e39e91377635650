"""Writing one complete generation: store, vectors, BM25, FAISS, manifest."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rag.errors import IndexWriteError
from rag.index.bm25 import BM25Index, CorpusStats
from rag.index.checkpoints import checkpoint
from rag.index.dense import build_dense, save_dense
from rag.index.manifest import MANIFEST, new_manifest
from rag.index.shards import BM25, DENSE, plan_shards, shard_bounds, shard_folder, write_shard
from rag.index.snapshot import EMBEDDINGS, STORE, Snapshot
from rag.index.store import ChunkRecord, DocumentRecord, FileRecord, Store
from rag.index.terms import TermAnalyzer
from rag.settings import Settings

# Builds the shards' BM25 and FAISS parts in a generation folder from the chunk
# texts and vectors split at the bounds; returns the corpus's BM25 term count.
ShardWriter = Callable[[Path, Sequence[str], npt.NDArray[np.float32], list[int]], int]


@dataclass
class Entry:
    """A document with its chunk rows and their vectors, ready to be written."""

    doc: DocumentRecord
    chunks: list[ChunkRecord]
    vectors: npt.NDArray[np.float32]


def write_generation(
    folder: Path,
    number: int,
    settings: Settings,
    files: list[FileRecord],
    entries: list[Entry],
    dimension: int,
    max_tokens: int,
    shard_writer: ShardWriter | None = None,
) -> int:
    """Write every part of the generation into `folder`; returns the chunk count.

    With more than one shard (`ingest.shards`), `shard_writer` builds the
    shards' BM25 and FAISS parts (default: here, one after the other).
    A write that fails (disk full, read-only folder) removes `folder` and raises
    `IndexWriteError` naming the file; the live generation is untouched.
    """
    entries = sorted(entries, key=lambda e: e.doc.source_key)
    chunks = [replace(c, pos=pos) for pos, c in enumerate(c for e in entries for c in e.chunks)]
    vectors = _stack([e.vectors for e in entries], dimension)
    with _removed_on_failure(folder):
        with _part(folder, STORE):
            store = Store(folder / STORE, create=True)
            try:
                store.write(files, (e.doc for e in entries), chunks)
            finally:
                store.close()
        with _part(folder, EMBEDDINGS):
            np.save(folder / EMBEDDINGS, vectors)
        bounds = shard_bounds(len(chunks), settings.ingest.shards)
        if len(bounds) > 2:
            texts = [c.text for c in chunks]
            if shard_writer is None:
                terms = _write_shards(folder, settings, texts, vectors, bounds)
            else:
                terms = shard_writer(folder, texts, vectors, bounds)
        else:
            terms = _write_index(folder, settings, chunks, vectors)
        counts = {
            "files": len(files),
            "documents": len(entries),
            "chunks": len(chunks),
            "terms": terms,
        }
        with _part(folder, MANIFEST):
            manifest = new_manifest(settings, number, dimension, max_tokens, counts, bounds)
            manifest.write(folder)
        checkpoint("write:complete")
    return len(chunks)


def _write_index(
    folder: Path, settings: Settings, chunks: list[ChunkRecord], vectors: npt.NDArray[np.float32]
) -> int:
    """One BM25 index and one FAISS index for every chunk; returns the term count."""
    analyzer = TermAnalyzer(settings.tokenizer)
    # A generator: each chunk's terms become ids and are freed before the next is
    # analysed (a list of 1M analysed chunks held 100M strings, about 6 GB).
    bm25 = BM25Index.build((analyzer.terms(c.text) for c in chunks), settings.bm25)
    with _part(folder, BM25):
        bm25.save(folder / BM25)
    with _part(folder, DENSE):
        save_dense(build_dense(vectors, settings.dense), folder / DENSE)
    return len(bm25.vocab)


def _write_shards(
    folder: Path,
    settings: Settings,
    texts: Sequence[str],
    vectors: npt.NDArray[np.float32],
    bounds: list[int],
) -> int:
    """Each shard's BM25 and FAISS parts, BM25 weighted with the whole corpus's
    statistics; returns the corpus's term count."""
    analyzer = TermAnalyzer(settings.tokenizer)
    plans = plan_shards(texts, vectors, bounds, analyzer)
    corpus = CorpusStats.merged(plan.analysed.stats() for plan in plans)
    for plan in plans:
        with _part(folder, shard_folder(Path(), plan.shard, plan.count).as_posix()):
            write_shard(folder, plan, corpus, settings.bm25, settings.dense)
    return len(corpus.df)


@contextlib.contextmanager
def _part(folder: Path, name: str) -> Iterator[None]:
    """Writing one file (or folder) of the generation: a fault-injection point
    before it, and its OS or SQLite errors as `IndexWriteError` naming it."""
    checkpoint(f"write:{name}")
    try:
        yield
    except OSError as exc:
        raise IndexWriteError(
            f"cannot write {exc.filename or folder / name}: {exc.strerror or exc}"
        ) from None
    except sqlite3.Error as exc:  # "database or disk is full", without errno
        raise IndexWriteError(f"cannot write {folder / name}: {exc}") from None


@contextlib.contextmanager
def _removed_on_failure(folder: Path) -> Iterator[None]:
    """A generation that could not be written whole leaves nothing behind."""
    try:
        yield
    except IndexWriteError:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _stack(parts: list[npt.NDArray[np.float32]], dimension: int) -> npt.NDArray[np.float32]:
    if not parts:
        return np.zeros((0, dimension), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def kept_entry(doc: DocumentRecord, old: Snapshot) -> Entry:
    """An unchanged document carried over from the live generation, vectors included."""
    chunks = old.store.chunks_of(doc.doc_id)
    positions = [c.pos for c in chunks]
    vectors = np.asarray(old.embeddings[positions], dtype=np.float32)
    return Entry(doc, chunks, vectors.reshape(len(positions), old.manifest.dimension))
