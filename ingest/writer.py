"""Writing one complete generation: store, vectors, BM25, FAISS, manifest."""

from __future__ import annotations

import contextlib
import heapq
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt

from rag.errors import IndexWriteError
from rag.index.bm25 import BM25Index, CorpusStats
from rag.index.bm25_build import PostingsBuilder
from rag.index.checkpoints import checkpoint
from rag.index.dense import build_dense_from_file, save_dense
from rag.index.manifest import MANIFEST, new_manifest
from rag.index.shards import BM25, DENSE, plan_shards, shard_bounds, shard_folder, write_shard
from rag.index.snapshot import EMBEDDINGS, STORE, Snapshot
from rag.index.store import ChunkRecord, DocumentRecord, FileRecord, Store
from rag.index.terms import TermAnalyzer
from rag.index.vector_file import VectorWriter
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
    entries: Iterable[Entry],
    dimension: int,
    max_tokens: int,
    shard_writer: ShardWriter | None = None,
) -> int:
    """Write every part of the generation into `folder`; returns the chunk count.

    `entries` come in `source_key` order (`drained`, `merged`) and stream
    through: each document's rows go to the store, its vectors to
    `embeddings.npy` and its chunks' terms to the BM25 builder as it arrives,
    and nothing of it is kept but its postings; FAISS is then built from the
    file (`build_dense_from_file`). With more than one shard
    (`ingest.shards`), the chunk texts are kept for `shard_writer`, which
    builds the shards' BM25 and FAISS parts (default: here, one after the
    other). A write that fails (disk full, read-only folder) removes `folder`
    and raises `IndexWriteError` naming the file; the live generation is
    untouched.
    """
    with _removed_on_failure(folder):
        spooled = _spool(folder, settings, files, entries, dimension)
        bounds = shard_bounds(spooled.chunks, settings.ingest.shards)
        if spooled.texts is not None and len(bounds) > 2:
            vectors = np.load(folder / EMBEDDINGS)
            write = shard_writer or partial(_write_shards, settings=settings)
            terms = write(folder, spooled.texts, vectors, bounds)
        else:
            terms = _write_index(folder, settings, spooled)
        counts = {
            "files": len(files),
            "documents": spooled.documents,
            "chunks": spooled.chunks,
            "terms": terms,
        }
        with _part(folder, MANIFEST):
            manifest = new_manifest(settings, number, dimension, max_tokens, counts, bounds)
            manifest.write(folder)
        checkpoint("write:complete")
    return spooled.chunks


def _key(entry: Entry) -> str:
    return entry.doc.source_key


def drained(entries: list[Entry]) -> Iterator[Entry]:
    """`entries` in `source_key` order, each let go of (popped from the list) as
    it is handed out, so a written entry is freed."""
    entries.sort(key=_key, reverse=True)
    while entries:
        yield entries.pop()


def merged(new: list[Entry], kept: Iterable[Entry]) -> Iterator[Entry]:
    """The new entries (drained) and the kept ones (already in order), in order."""
    return heapq.merge(drained(new), kept, key=_key)


@dataclass
class _Spooled:
    documents: int = 0
    chunks: int = 0
    texts: list[str] | None = None  # kept for a sharded build only
    postings: PostingsBuilder | None = None


def _spool(
    folder: Path, settings: Settings, files: list[FileRecord], entries: Iterable[Entry], dim: int
) -> _Spooled:
    """The store and `embeddings.npy` written, and BM25's postings gathered, in one
    pass over `entries`."""
    sharded = settings.ingest.shards > 1
    spooled = _Spooled(texts=[] if sharded else None)
    spooled.postings = None if sharded else PostingsBuilder(settings.bm25)
    analyzer = TermAnalyzer(settings.tokenizer)
    with _part(folder, STORE):
        store = Store(folder / STORE, create=True)
    with _part(folder, EMBEDDINGS):
        vectors = VectorWriter(folder / EMBEDDINGS, dim)
    last = ""

    def rows() -> Iterator[tuple[DocumentRecord, list[ChunkRecord]]]:
        nonlocal last
        for entry in entries:
            if entry.doc.source_key < last:
                raise ValueError(f"entries out of order at {entry.doc.source_key!r}")
            last = entry.doc.source_key
            chunks = [replace(c, pos=spooled.chunks + i) for i, c in enumerate(entry.chunks)]
            with _named(folder, EMBEDDINGS):
                vectors.append(entry.vectors)
            for chunk in chunks:
                if spooled.texts is not None:
                    spooled.texts.append(chunk.text)
                elif spooled.postings is not None:
                    spooled.postings.add(analyzer.terms(chunk.text))
            spooled.documents += 1
            spooled.chunks += len(chunks)
            yield entry.doc, chunks

    try:
        with _named(folder, STORE):
            store.write(files, rows())
        with _named(folder, EMBEDDINGS):
            vectors.close()
    finally:
        store.close()
        vectors.release()
    return spooled


def _write_index(folder: Path, settings: Settings, spooled: _Spooled) -> int:
    """One BM25 index and one FAISS index for every chunk; returns the term count."""
    postings = spooled.postings
    if postings is None:  # sharding asked for, but too few chunks to split
        postings = PostingsBuilder(settings.bm25)
        analyzer = TermAnalyzer(settings.tokenizer)
        for text in spooled.texts or []:
            postings.add(analyzer.terms(text))
    bm25 = BM25Index.of(postings.build())
    with _part(folder, BM25):
        bm25.save(folder / BM25)
    with _part(folder, DENSE):
        save_dense(build_dense_from_file(folder / EMBEDDINGS, settings.dense), folder / DENSE)
    return len(bm25.vocab)


def _write_shards(
    folder: Path,
    texts: Sequence[str],
    vectors: npt.NDArray[np.float32],
    bounds: list[int],
    settings: Settings,
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
    with _named(folder, name):
        yield


@contextlib.contextmanager
def _named(folder: Path, name: str) -> Iterator[None]:
    """OS or SQLite errors while writing `name` as `IndexWriteError` naming it."""
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


def kept_entry(doc: DocumentRecord, old: Snapshot) -> Entry:
    """An unchanged document carried over from the live generation, vectors included."""
    chunks = old.store.chunks_of(doc.doc_id)
    positions = [c.pos for c in chunks]
    vectors = np.asarray(old.embeddings[positions], dtype=np.float32)
    return Entry(doc, chunks, vectors.reshape(len(positions), old.manifest.dimension))
