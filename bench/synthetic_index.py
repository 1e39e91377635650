"""A complete index (store, BM25, FAISS, manifest) of synthetic chunks.

Everything an ingest writes, at sizes whose embedding would take days here
(1M chunks at about 20 per second is 14 hours): chunk text from the Zipfian
corpus, vectors from `clustered_vectors`. Only loading, chunking and
embedding are skipped; the store, BM25 over the analysed text and the FAISS
index are built by the ingest's own writer, so build time and peak memory
are the writer's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.common import peak_rss_mib
from bench.synthetic import TermCorpus, clustered_vector_slices, zipf_corpus
from ingest.writer import Entry, write_generation
from rag.documents import Chunk, Document
from rag.index import generations
from rag.index.store import ChunkRecord, DocumentRecord, FileRecord
from rag.index.vector_file import VectorWriter, batches
from rag.settings import Settings, build_settings

CHUNKS_PER_DOC = 10


def build_synthetic_index(
    settings: Settings, n_chunks: int, centres: npt.NDArray[np.float32] | None = None
) -> float:
    """Write and publish an index of `n_chunks` into `settings.index_dir`; returns
    the seconds the writer took. The vectors are made first, into a file beside
    the index, and stream from it into the writer with the chunks, so neither
    is held whole (as an ingest's embedder hands them over)."""
    corpus = zipf_corpus(n_chunks)
    spool = settings.index_dir.parent / f"{settings.index_dir.name}.vectors.npy"
    spool.parent.mkdir(parents=True, exist_ok=True)
    made = VectorWriter(spool, 384)
    for part in clustered_vector_slices(n_chunks, 384, seed=n_chunks, centres=centres):
        made.append(part)
    made.close()
    try:
        started = time.perf_counter()
        number, folder = generations.start_partial(settings.index_dir)
        files = [FileRecord(source_path="synthetic", size=0, mtime_ns=0, sha256="0" * 64)]
        entries = _entries(corpus, batches(spool, 100_000))
        write_generation(folder, number, settings, files, entries, 384, 254)
        generations.publish(settings.index_dir, folder)
        return time.perf_counter() - started
    finally:
        spool.unlink()


def _entries(
    corpus: TermCorpus, vectors: Iterator[tuple[int, npt.NDArray[np.float32]]]
) -> Iterator[Entry]:
    """Documents of CHUNKS_PER_DOC chunks, in key order (zero-padded numbers)."""
    starts = np.concatenate([[0], np.cumsum(corpus.lengths)])
    held = np.empty((0, 384), dtype=np.float32)
    for first in range(0, len(corpus.lengths), CHUNKS_PER_DOC):
        last = min(first + CHUNKS_PER_DOC, len(corpus.lengths))
        while len(held) < last - first:
            held = np.concatenate([held, next(vectors)[1]])
        texts = [
            " ".join(corpus.words(corpus.term_ids[starts[i] : starts[i + 1]]))
            for i in range(first, last)
        ]
        number = first // CHUNKS_PER_DOC
        doc = Document(
            source_path="synthetic",
            source_key=f"synthetic#{number:09d}",
            title=f"synthetic {number}",
            text="\n".join(texts),
        )
        chunks, offset = [], 0
        for ordinal, text in enumerate(texts):
            chunk = Chunk(doc.doc_id, ordinal, text, offset, offset + len(text), len(text.split()))
            chunks.append(ChunkRecord.of(chunk))
            offset += len(text) + 1
        yield Entry(DocumentRecord.of(doc), chunks, held[: last - first].copy())
        held = held[last - first :]


def build_in_child(index: Path, n_chunks: int) -> dict[str, float]:
    """Build in a separate process, so its peak memory is the build's alone;
    the figures are kept beside the index (`<index>.json`) for later runs."""
    subprocess.run(
        [sys.executable, "-m", "bench.synthetic_index", str(index), str(n_chunks)], check=True
    )
    return figures(index)


def figures(index: Path) -> dict[str, float]:
    sidecar = index.with_suffix(".json")
    return dict(json.loads(sidecar.read_text(encoding="utf-8"))) if sidecar.exists() else {}


def main() -> None:
    index, n_chunks = Path(sys.argv[1]), int(sys.argv[2])
    settings = build_settings({"index_dir": index}, use_env=False)
    seconds = build_synthetic_index(settings, n_chunks)
    record = {
        "chunks": n_chunks,
        "build_s": round(seconds, 1),
        "build_peak_rss_mib": peak_rss_mib(),
    }
    index.with_suffix(".json").write_text(json.dumps(record) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
