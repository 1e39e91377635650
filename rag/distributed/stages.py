"""The ingest's stages as they run on a Ray cluster's workers.

- parse: one task per file, the local loaders (`ingest.parsing.parse_file`);
- chunk and embed: `ChunkEmbed`, an actor holding one model, chunking each
  parsed file's documents with the local chunker and embedding the chunks'
  distinct texts EMBED_BATCH at a time, as the local ingest does;
- write: one task per shard analyses its chunk texts for BM25 (`analyse`),
  then, with the whole corpus's statistics, writes its BM25 postings and
  FAISS index into the generation folder (`build`). The index folder must be
  one every node sees (the same machine, or a shared file system).

Parsed files and prepared documents travel between stages pickled into bytes
columns: Ray Data would otherwise try, and fail, to turn them into Arrow
columns first. Nothing pickled is ever written to disk.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ingest.chunking import make_chunker
from ingest.engine import PreparedDoc, PreparedFile
from ingest.parsing import Outcome, ParseFailure, parse_file
from rag.documents import Chunk
from rag.embedding import make_embedder
from rag.errors import IndexWriteError
from rag.index.bm25 import Analysed, CorpusStats
from rag.index.checkpoints import checkpoint
from rag.index.shards import ShardPlan, write_shard
from rag.index.store import ChunkRecord
from rag.index.terms import TermAnalyzer
from rag.settings import BM25Settings, DenseSettings, IngestSettings, Settings, TokenizerSettings

EMBED_BATCH = 256  # texts per model call, as the local ingest (`ingest.run`)
Vectors = npt.NDArray[np.float32]
Batch = dict[str, npt.NDArray[Any]]


def parse(row: dict[str, Any], settings: IngestSettings) -> dict[str, Any]:
    """Stage 2: one file's documents, or why it could not be read."""
    outcome = parse_file(Path(row["path"]), settings)
    return {"order": row["order"], "path": row["path"], "outcome": pickle.dumps(outcome)}


class ChunkEmbed:
    """Stages 3 and 4: one model per actor, loaded once, for every batch it gets."""

    def __init__(self, settings: Settings) -> None:
        threads = max(1, int(settings.ray.embed_cpus))
        self._embedder = make_embedder(settings.embedding.model_copy(update={"threads": threads}))
        self._chunker = make_chunker(settings.chunking, self._embedder)

    def __call__(self, batch: Batch) -> Batch:
        checkpoint("ray:embed")  # a test's fault-injection point: the actor dies here
        prepared = [pickle.dumps(self._prepare(pickle.loads(b))) for b in batch["outcome"]]
        shape = (self._embedder.dimension, self._embedder.max_tokens)
        return {
            "order": batch["order"],
            "path": batch["path"],
            "prepared": np.array(prepared, dtype=object),
            "shape": np.array([shape] * len(prepared), dtype=np.int64),
        }

    def _prepare(self, outcome: Outcome) -> PreparedFile | ParseFailure:
        if isinstance(outcome, ParseFailure):
            return outcome
        chunked = [(doc, self._chunker.chunk(doc)) for doc in outcome.docs]
        vectors = self._embed({c.text_hash: c.text for _, chunks in chunked for c in chunks})
        docs = [
            PreparedDoc(doc, [ChunkRecord.of(c) for c in chunks], self._rows(vectors, chunks))
            for doc, chunks in chunked
        ]
        return PreparedFile(docs, outcome.seconds)

    def _embed(self, texts: dict[str, str]) -> dict[str, Vectors]:
        items = list(texts.items())
        vectors: dict[str, Vectors] = {}
        for i in range(0, len(items), EMBED_BATCH):
            batch = items[i : i + EMBED_BATCH]
            embedded = self._embedder.embed([text for _, text in batch])
            vectors.update(zip((h for h, _ in batch), embedded, strict=True))
        return vectors

    def _rows(self, vectors: dict[str, Vectors], chunks: list[Chunk]) -> Vectors:
        if not chunks:
            return np.zeros((0, self._embedder.dimension), dtype=np.float32)
        return np.stack([vectors[c.text_hash] for c in chunks]).astype(np.float32)


def analyse(texts: list[str], tokenizer: TokenizerSettings) -> tuple[Analysed, CorpusStats]:
    """Stage 5a: a shard's chunk texts as BM25 term ids, and its statistics."""
    analysed = Analysed.of(map(TermAnalyzer(tokenizer).terms, texts))
    return analysed, analysed.stats()


def build(
    folder: str,
    shard: int,
    count: int,
    analysed: Analysed,
    vectors: Vectors,
    corpus: CorpusStats,
    bm25: BM25Settings,
    dense: DenseSettings,
) -> None:
    """Stage 5b: a shard's BM25 postings (weights from the whole corpus) and FAISS index."""
    try:
        write_shard(Path(folder), ShardPlan(shard, count, analysed, vectors), corpus, bm25, dense)
    except OSError as exc:
        raise IndexWriteError(
            f"cannot write {exc.filename or folder}: {exc.strerror or exc}"
        ) from None
