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
from pathlib import Path

import numpy as np
import numpy.typing as npt

from bench.common import peak_rss_mib
from bench.synthetic import TermCorpus, clustered_vectors, zipf_corpus
from ingest.writer import Entry, write_generation
from rag.documents import Chunk, Document
from rag.index import generations
from rag.index.store import ChunkRecord, DocumentRecord, FileRecord
from rag.settings import Settings, build_settings

CHUNKS_PER_DOC = 10


def build_synthetic_index(
    settings: Settings, n_chunks: int, centres: npt.NDArray[np.float32] | None = None
) -> float:
    """Write and publish an index of `n_chunks` into `settings.index_dir`; returns seconds."""
    corpus = zipf_corpus(n_chunks)
    vectors = clustered_vectors(n_chunks, 384, seed=n_chunks, centres=centres)
    started = time.perf_counter()
    entries = list(_entries(corpus, vectors))
    del vectors
    number, folder = generations.start_partial(settings.index_dir)
    files = [FileRecord(source_path="synthetic", size=0, mtime_ns=0, sha256="0" * 64)]
    write_generation(folder, number, settings, files, entries, 384, 254)
    generations.publish(settings.index_dir, folder)
    return time.perf_counter() - started


def _entries(corpus: TermCorpus, vectors: npt.NDArray[np.float32]) -> list[Entry]:
    starts = np.concatenate([[0], np.cumsum(corpus.lengths)])
    entries = []
    for first in range(0, len(corpus.lengths), CHUNKS_PER_DOC):
        last = min(first + CHUNKS_PER_DOC, len(corpus.lengths))
        texts = [
            " ".join(corpus.words(corpus.term_ids[starts[i] : starts[i + 1]]))
            for i in range(first, last)
        ]
        doc = Document(
            source_path="synthetic",
            source_key=f"synthetic#{first // CHUNKS_PER_DOC}",
            title=f"synthetic {first // CHUNKS_PER_DOC}",
            text="\n".join(texts),
        )
        chunks, offset = [], 0
        for ordinal, text in enumerate(texts):
            chunk = Chunk(doc.doc_id, ordinal, text, offset, offset + len(text), len(text.split()))
            chunks.append(ChunkRecord.of(chunk))
            offset += len(text) + 1
        entries.append(Entry(DocumentRecord.of(doc), chunks, vectors[first:last]))
    return entries


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
