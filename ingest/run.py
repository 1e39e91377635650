"""One ingest run: scan, detect changes, load, chunk, embed, write, switch.

Work is done in memory and in a partial generation folder; the live index
changes only in the final atomic switch (`rag.index.generations.publish`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from ingest.changes import Previous, diff_documents, file_record, same_stat
from ingest.chunking import make_chunker
from ingest.loaders import loader_for
from ingest.report import IngestReport
from ingest.scan import scan
from ingest.writer import Entry, kept_entry, write_generation
from rag.documents import Chunk, Document
from rag.embedding import Embedder
from rag.errors import LoadError
from rag.index import generations
from rag.index.manifest import INGEST_FIELDS
from rag.index.snapshot import Snapshot, open_current
from rag.index.store import FileRecord, Row, chunk_row, document_row
from rag.settings import Settings

log = logging.getLogger("rag.ingest")
T = TypeVar("T")
EMBED_BATCH = 256


@dataclass
class Options:
    paths: list[Path]
    prune: bool = False
    rebuild: bool = False
    progress: bool = False


@dataclass
class _Plan:
    files: dict[str, FileRecord] = field(default_factory=dict)
    kept: list[Row] = field(default_factory=list)
    new: list[Document] = field(default_factory=list)


def run_ingest(
    settings: Settings, options: Options, embedder: Callable[[], Embedder]
) -> IngestReport:
    started = time.perf_counter()
    index_dir = settings.index_dir
    report = IngestReport()
    with generations.ingest_lock(index_dir):
        old = open_current(index_dir) if generations.has_index(index_dir) else None
        try:
            if old is not None and not options.rebuild:
                old.manifest.check(settings, INGEST_FIELDS)
            plan = _plan(settings, options, old, report)
            if report.changed or _files_changed(old, plan):
                _build(settings, options, old, plan, embedder, report)
            else:
                report.chunks_total = old.store.counts()["chunks"] if old else 0
        finally:
            if old is not None:
                old.close()
    report.seconds = time.perf_counter() - started
    return report


def _plan(
    settings: Settings, options: Options, old: Snapshot | None, report: IngestReport
) -> _Plan:
    _phase(report, "scanning")
    found = scan(options.paths, settings.ingest.follow_symlinks)
    report.failed.extend((e.path, str(e)) for e in found.failures)
    report.files_skipped = found.skipped
    previous = Previous()
    if old is not None:
        previous = Previous.from_rows(old.store.files(), list(old.store.documents()))
    plan = _Plan()
    seen = {str(p) for p in found.files}
    _phase(report, "loading")
    for path in _bar(found.files, "files", options.progress):
        _plan_file(settings, options, path, previous, plan, report)
    for source, rows in previous.docs_by_source.items():
        if source in seen:
            continue
        if options.prune and not Path(source).exists():
            report.removed += len(rows)
        else:
            plan.kept.extend(rows)
            if source in previous.files:
                plan.files[source] = previous.files[source]
    report.unchanged = len(plan.kept)
    return plan


def _plan_file(
    settings: Settings,
    options: Options,
    path: Path,
    previous: Previous,
    plan: _Plan,
    report: IngestReport,
) -> None:
    key = str(path)
    old_rows = previous.docs_by_source.get(key, [])
    record = previous.files.get(key)
    if not options.rebuild and same_stat(path, record) and record is not None:
        plan.files[key] = record
        plan.kept.extend(old_rows)
        return
    try:
        fresh = file_record(path)
        if not options.rebuild and record is not None and fresh.sha256 == record.sha256:
            plan.files[key] = fresh
            plan.kept.extend(old_rows)
            return
        docs = list(loader_for(path).load(path, settings.ingest))
    except LoadError as exc:
        report.failed.append((exc.path, str(exc)))
        plan.kept.extend(old_rows)  # a file that turned bad keeps its last good version
        if record is not None:
            plan.files[key] = record
        return
    except OSError as exc:
        report.failed.append((key, f"could not be read: {exc.strerror or exc}"))
        plan.kept.extend(old_rows)
        return
    report.files_read += 1
    report.pages += sum(max(len(d.pages), 1) for d in docs)
    report.warnings.extend((key, w) for d in docs for w in d.warnings)
    changes = diff_documents(docs, old_rows, options.rebuild)
    plan.files[key] = fresh
    plan.kept.extend(changes.kept)
    plan.new.extend(changes.new)
    report.added += changes.added
    report.updated += changes.updated
    report.removed += changes.removed


def _files_changed(old: Snapshot | None, plan: _Plan) -> bool:
    return old is None or old.store.files() != plan.files


def _build(
    settings: Settings,
    options: Options,
    old: Snapshot | None,
    plan: _Plan,
    make_embedder: Callable[[], Embedder],
    report: IngestReport,
) -> None:
    entries = [kept_entry(row, old) for row in plan.kept if old is not None]
    if plan.new or old is None:  # the model loads only when there is text to embed
        embedder = make_embedder()
        entries += _new_entries(settings, options, old, plan, embedder, report)
        dimension, max_tokens = embedder.dimension, embedder.max_tokens
    else:
        dimension = old.manifest.dimension
        max_tokens = int(old.manifest.data["embedding"]["max_tokens"])
    _phase(report, "writing")
    number, folder = generations.start_partial(settings.index_dir)
    files = sorted(plan.files.values(), key=lambda f: f.source_path)
    report.chunks_total = write_generation(
        folder, number, settings, files, entries, dimension, max_tokens
    )
    _phase(report, "switching")
    generations.publish(settings.index_dir, folder)
    generations.prune(settings.index_dir, settings.ingest.keep_generations)
    report.generation = number
    _phase(report, "done")


def _new_entries(
    settings: Settings,
    options: Options,
    old: Snapshot | None,
    plan: _Plan,
    embedder: Embedder,
    report: IngestReport,
) -> list[Entry]:
    _phase(report, "chunking")
    chunker = make_chunker(settings.chunking, embedder)
    new_chunks = [chunker.chunk(doc) for doc in _bar(plan.new, "chunking", options.progress)]
    report.chunks_new = sum(map(len, new_chunks))
    cache = _vector_cache(old, settings)
    _phase(report, "embedding")
    vectors = _embed_missing(embedder, [c for cs in new_chunks for c in cs], cache, options, report)
    return [
        Entry(
            document_row(doc),
            [chunk_row(c) for c in chunks],
            _rows(vectors, chunks, embedder.dimension),
        )
        for doc, chunks in zip(plan.new, new_chunks, strict=True)
    ]


Vectors = npt.NDArray[np.float32]


def _vector_cache(old: Snapshot | None, settings: Settings) -> dict[str, Vectors]:
    """Stored vectors by chunk text hash, when the model is the same."""
    same = all(
        old is not None and old.manifest.value(f"embedding.{f}") == getattr(settings.embedding, f)
        for f in ("model", "backend")
    )
    if old is None or not same:
        return {}
    return {text_hash: old.embeddings[pos] for pos, _, text_hash in old.store.chunk_texts()}


def _embed_missing(
    embedder: Embedder,
    chunks: list[Chunk],
    cache: dict[str, Vectors],
    options: Options,
    report: IngestReport,
) -> dict[str, Vectors]:
    missing = list({c.text_hash: c.text for c in chunks if c.text_hash not in cache}.items())
    batches = [missing[i : i + EMBED_BATCH] for i in range(0, len(missing), EMBED_BATCH)]
    for batch in _bar(batches, "embedding batches", options.progress):
        for (text_hash, _), vector in zip(
            batch, embedder.embed([t for _, t in batch]), strict=True
        ):
            cache[text_hash] = vector
    report.chunks_embedded = len(missing)
    return cache


def _rows(vectors: dict[str, Vectors], chunks: list[Chunk], dim: int) -> Vectors:
    if not chunks:
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([vectors[c.text_hash] for c in chunks]).astype(np.float32)


def _phase(report: IngestReport, name: str) -> None:
    log.info("phase: %s", name)
    report.mark(name)


def _bar(items: list[T], what: str, enabled: bool) -> Iterable[T]:
    bar: Iterable[T] = tqdm(items, desc=what, disable=not enabled or not items, leave=False)
    return bar
