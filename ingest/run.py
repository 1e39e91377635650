"""One ingest run: scan, detect changes, parse, chunk, embed, write, switch.

Changed files are parsed in a worker process (`ingest.parsing`) while this
process chunks and embeds the documents already parsed, in batches. Work is
done in memory and in a partial generation folder; the live index changes only
in the final atomic switch (`rag.index.generations.publish`).
"""

from __future__ import annotations

import functools
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
from ingest.chunking.base import Chunker
from ingest.engine import Engine
from ingest.parsing import ParseFailure, parse_files
from ingest.raptor.stage import tree_entries
from ingest.report import IngestReport
from ingest.scan import scan
from ingest.writer import Entry, kept_entry, merged, write_generation
from rag.documents import Chunk, Document
from rag.embedding import Embedder
from rag.errors import IndexCorruptError
from rag.index import generations
from rag.index.checkpoints import checkpoint
from rag.index.manifest import INGEST_FIELDS
from rag.index.snapshot import Snapshot, open_current
from rag.index.store import ChunkRecord, DocumentRecord, FileRecord
from rag.raptor_marks import is_summary
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
    raptor: bool | None = None  # build (True) or drop (False) the summary tree; None: as before


@dataclass
class _Plan:
    files: dict[str, FileRecord] = field(default_factory=dict)
    kept: list[DocumentRecord] = field(default_factory=list)
    to_parse: list[tuple[Path, FileRecord]] = field(default_factory=list)
    previous: Previous = field(default_factory=Previous)
    summaries: list[DocumentRecord] = field(default_factory=list)  # the live RAPTOR tree


def run_ingest(
    settings: Settings,
    options: Options,
    embedder: Callable[[], Embedder],
    engine: Engine | None = None,
    report: IngestReport | None = None,
) -> IngestReport:
    """Ingest here, or with `engine` running parsing, chunking, embedding and
    the shards' build elsewhere (`ingest.engine`). `report` is filled in as the
    run goes, so another thread can show its progress."""
    started = time.perf_counter()
    index_dir = settings.index_dir
    report = report if report is not None else IngestReport()
    embedder = functools.cache(embedder)  # one model for the chunks and the summaries
    with generations.ingest_lock(index_dir):
        old = _open_live(index_dir, report)
        try:
            if old is not None and not options.rebuild:
                old.manifest.check(settings, INGEST_FIELDS)
            plan = _plan(settings, options, old, report)
            if engine is None:
                entries, shape = _collect(settings, options, old, plan, embedder, report)
            else:
                entries, shape = _collect_prepared(engine, options, old, plan, report)
            tree = _wants_tree(settings, options, plan)
            if report.changed or _files_changed(old, plan) or tree != bool(plan.summaries):
                kept = sorted(plan.kept, key=lambda row: row.source_key) if old else []
                if tree:
                    entries += _summaries(
                        settings, options, entries, kept, old, plan, embedder, report
                    )
                # Kept documents are read from the live generation as they are written.
                stream = merged(entries, (kept_entry(row, old) for row in kept if old))
                _write(settings, plan, stream, shape, report, engine)
            else:
                report.chunks_total = old.store.counts()["chunks"] if old else 0
        finally:
            if old is not None:
                old.close()
    report.seconds = time.perf_counter() - started
    return report


def _wants_tree(settings: Settings, options: Options, plan: _Plan) -> bool:
    """Whether the new generation has a RAPTOR tree: as asked, else as the live one."""
    if options.raptor is not None:
        return options.raptor
    return settings.raptor.enabled or bool(plan.summaries)


def _summaries(
    settings: Settings,
    options: Options,
    entries: list[Entry],
    kept: list[DocumentRecord],
    old: Snapshot | None,
    plan: _Plan,
    embedder: Callable[[], Embedder],
    report: IngestReport,
) -> list[Entry]:
    """The tree's summaries over the new and the kept documents."""
    _phase(report, "summarising")
    documents = [*entries, *(kept_entry(row, old) for row in kept if old)]
    return tree_entries(settings, documents, plan.summaries, embedder(), report, options.progress)


def _open_live(index_dir: Path, report: IngestReport) -> Snapshot | None:
    """The live generation, or None when there is none or it is damaged: then
    this run builds the index anew (re-embedding everything) rather than leave
    the user with an index that neither serves nor updates."""
    if not generations.has_index(index_dir):
        return None
    try:
        return open_current(index_dir)
    except IndexCorruptError as exc:
        message = f"the live generation is damaged, so every file is read anew: {exc}"
        log.warning("%s", message)
        report.warnings.append((str(index_dir), message))
        return None


def _plan(
    settings: Settings, options: Options, old: Snapshot | None, report: IngestReport
) -> _Plan:
    """Which files are unchanged (by size and mtime, then SHA-256) and which to parse."""
    _phase(report, "scanning")
    found = scan(options.paths, settings.ingest.follow_symlinks)
    report.failed.extend((e.path, str(e)) for e in found.failures)
    report.files_skipped = found.skipped
    plan = _Plan()
    if old is not None:
        docs = old.store.documents()
        plan.summaries = [d for d in docs if is_summary(d.source_key)]
        chosen = [d for d in docs if not is_summary(d.source_key)]
        plan.previous = Previous.from_rows(old.store.files(), chosen)
    for path in found.files:
        _plan_file(options, path, plan, report)
    seen = {str(p) for p in found.files}
    for source, rows in plan.previous.docs_by_source.items():
        if source in seen:
            continue
        if options.prune and not Path(source).exists():
            report.removed += len(rows)
        else:
            plan.kept.extend(rows)
            if source in plan.previous.files:
                plan.files[source] = plan.previous.files[source]
    return plan


def _plan_file(options: Options, path: Path, plan: _Plan, report: IngestReport) -> None:
    key = str(path)
    record = plan.previous.files.get(key)
    try:
        if not options.rebuild and same_stat(path, record) and record is not None:
            _keep(plan, key, record)
            return
        fresh = file_record(path)
    except OSError as exc:
        report.failed.append((key, f"could not be read: {exc.strerror or exc}"))
        _keep(plan, key, record)
        return
    if not options.rebuild and record is not None and fresh.sha256 == record.sha256:
        _keep(plan, key, fresh)
    else:
        plan.to_parse.append((path, fresh))


def _keep(plan: _Plan, key: str, record: FileRecord | None) -> None:
    """The file's documents stay as they are in the live generation."""
    plan.kept.extend(plan.previous.docs_by_source.get(key, []))
    if record is not None:
        plan.files[key] = record


def _files_changed(old: Snapshot | None, plan: _Plan) -> bool:
    return old is None or old.store.files() != plan.files


@dataclass(frozen=True)
class _Shape:
    dimension: int
    max_tokens: int


def _collect(
    settings: Settings,
    options: Options,
    old: Snapshot | None,
    plan: _Plan,
    make_embedder: Callable[[], Embedder],
    report: IngestReport,
) -> tuple[list[Entry], _Shape]:
    """Parse the changed files and embed their new documents as they arrive."""
    stage = _EmbedStage(settings, old, make_embedder, report)
    if plan.to_parse:
        _phase(report, "loading")
    records = dict(plan.to_parse)
    parsed = parse_files(list(records), settings.ingest, settings.ingest.parse_workers)
    for path, outcome in _bar(parsed, "files", options.progress, len(records)):
        if isinstance(outcome, ParseFailure):
            report.failed.append((outcome.path, outcome.reason))
            _keep(plan, str(path), plan.previous.files.get(str(path)))  # last good version
            continue
        report.parse_seconds += outcome.seconds
        changes = _take_file(options, path, records[path], outcome.docs, plan, report)
        stage.add(changes)
        _phase(report, "loading")
    report.unchanged = len(plan.kept)
    return stage.finish(), stage.shape(old)


def _collect_prepared(
    engine: Engine, options: Options, old: Snapshot | None, plan: _Plan, report: IngestReport
) -> tuple[list[Entry], _Shape]:
    """The changed files parsed, chunked and embedded by `engine`; their
    unchanged documents are kept from the live generation, as here."""
    records = dict(plan.to_parse)
    if records:
        _phase(report, "preparing")
    entries: list[Entry] = []
    for path, outcome in engine.prepare(list(records)):
        if isinstance(outcome, ParseFailure):
            report.failed.append((outcome.path, outcome.reason))
            _keep(plan, str(path), plan.previous.files.get(str(path)))  # last good version
            continue
        report.parse_seconds += outcome.seconds
        prepared = {p.doc.doc_id: p for p in outcome.docs}
        docs = [p.doc for p in outcome.docs]
        for doc in _take_file(options, path, records[path], docs, plan, report):
            done = prepared[doc.doc_id]
            entries.append(Entry(DocumentRecord.of(doc), done.chunks, done.vectors))
            report.chunks_new += len(done.chunks)
            report.chunks_embedded += len(done.chunks)
    report.unchanged = len(plan.kept)
    if old is not None and not entries:
        return entries, _Shape(
            old.manifest.dimension, int(old.manifest.data["embedding"]["max_tokens"])
        )
    return entries, _Shape(*engine.shape())


def _take_file(
    options: Options,
    path: Path,
    fresh: FileRecord,
    docs: list[Document],
    plan: _Plan,
    report: IngestReport,
) -> list[Document]:
    """Record one parsed file; returns its added or updated documents."""
    key = str(path)
    report.files_read += 1
    report.pages += sum(max(len(d.pages), 1) for d in docs)
    report.warnings.extend((key, w) for d in docs for w in d.warnings)
    changes = diff_documents(docs, plan.previous.docs_by_source.get(key, []), options.rebuild)
    plan.files[key] = fresh
    plan.kept.extend(changes.kept)
    report.added += changes.added
    report.updated += changes.updated
    report.removed += changes.removed
    return changes.new


Vectors = npt.NDArray[np.float32]


class _EmbedStage:
    """Chunks new documents and embeds their chunks in batches of EMBED_BATCH
    texts. The model loads with the first document that needs it."""

    def __init__(
        self,
        settings: Settings,
        old: Snapshot | None,
        make_embedder: Callable[[], Embedder],
        report: IngestReport,
    ) -> None:
        self._settings, self._old, self._make, self._report = settings, old, make_embedder, report
        self._embedder: Embedder | None = None
        self._chunker: Chunker | None = None
        self._vectors: dict[str, Vectors] = {}
        self._waiting: list[tuple[Document, list[Chunk]]] = []
        self._missing: dict[str, str] = {}  # text hash -> text, not yet embedded
        self._entries: list[Entry] = []

    def add(self, docs: list[Document]) -> None:
        if not docs:
            return
        chunker = self._load()
        _phase(self._report, "chunking")
        for doc in docs:
            chunks = chunker.chunk(doc)
            self._report.chunks_new += len(chunks)
            self._waiting.append((doc, chunks))
            for c in chunks:
                if c.text_hash not in self._vectors:
                    self._missing[c.text_hash] = c.text
        if len(self._missing) >= EMBED_BATCH:
            self._flush()

    def finish(self) -> list[Entry]:
        self._flush()
        return self._entries

    def shape(self, old: Snapshot | None) -> _Shape:
        if self._embedder is None and old is not None:
            return _Shape(old.manifest.dimension, int(old.manifest.data["embedding"]["max_tokens"]))
        embedder = self._embedder or self._make()  # a first ingest with nothing to embed
        return _Shape(embedder.dimension, embedder.max_tokens)

    def _load(self) -> Chunker:
        if self._embedder is None or self._chunker is None:
            self._embedder = self._make()
            self._chunker = make_chunker(self._settings.chunking, self._embedder)
            self._vectors = _vector_cache(self._old, self._settings)
        return self._chunker

    def _flush(self) -> None:
        if self._embedder is None:
            return
        if self._missing:
            _phase(self._report, "embedding")
        items = list(self._missing.items())
        self._missing = {}
        for i in range(0, len(items), EMBED_BATCH):
            batch = items[i : i + EMBED_BATCH]
            vectors = self._embedder.embed([text for _, text in batch])
            for (text_hash, _), vector in zip(batch, vectors, strict=True):
                self._vectors[text_hash] = vector
        self._report.chunks_embedded += len(items)
        dim = self._embedder.dimension
        self._entries += [
            Entry(
                DocumentRecord.of(d), [ChunkRecord.of(c) for c in cs], _rows(self._vectors, cs, dim)
            )
            for d, cs in self._waiting
        ]
        self._waiting = []


def _write(
    settings: Settings,
    plan: _Plan,
    entries: Iterable[Entry],
    shape: _Shape,
    report: IngestReport,
    engine: Engine | None = None,
) -> None:
    _phase(report, "writing")
    number, folder = generations.start_partial(settings.index_dir)
    files = sorted(plan.files.values(), key=lambda f: f.source_path)
    report.chunks_total = write_generation(
        folder,
        number,
        settings,
        files,
        entries,
        shape.dimension,
        shape.max_tokens,
        engine.write_shards if engine is not None else None,
    )
    _phase(report, "switching")
    generations.publish(settings.index_dir, folder)
    generations.prune(settings.index_dir, settings.ingest.keep_generations)
    report.generation = number
    _phase(report, "done")


def _vector_cache(old: Snapshot | None, settings: Settings) -> dict[str, Vectors]:
    """Stored vectors by chunk text hash, when the model is the same."""
    same = all(
        old is not None and old.manifest.value(f"embedding.{f}") == getattr(settings.embedding, f)
        for f in ("model", "backend")
    )
    if old is None or not same:
        return {}
    return {text_hash: old.embeddings[pos] for pos, _, text_hash in old.store.chunk_texts()}


def _rows(vectors: dict[str, Vectors], chunks: list[Chunk], dim: int) -> Vectors:
    if not chunks:
        return np.zeros((0, dim), dtype=np.float32)
    return np.stack([vectors[c.text_hash] for c in chunks]).astype(np.float32)


def _phase(report: IngestReport, name: str) -> None:
    log.info("phase: %s", name)
    report.mark(name)
    checkpoint(f"phase:{name}")  # a test's fault-injection point; free when unset


def _bar(items: Iterable[T], what: str, enabled: bool, total: int) -> Iterable[T]:
    bar: Iterable[T] = tqdm(
        items, desc=what, total=total, disable=not enabled or not total, leave=False
    )
    return bar
