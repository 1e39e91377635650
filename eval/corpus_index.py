"""Indexes of benchmark corpora, built once and kept between runs.

An index is cached under `eval.cache_dir`, named by the SHA-256 of the corpus
file and of the index-shaping settings (embedding, chunking, tokenizer, BM25,
dense, and whether RAPTOR is on): a second run, or a resumed one, reuses its
embeddings (and summaries) instead of computing them again, and changing any
of those settings builds a new one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from eval.qa_data import CorpusRecord, write_beir_corpus
from ingest.run import Options, run_ingest
from rag.embedding import Embedder
from rag.hashing import file_sha256
from rag.index import generations
from rag.index.manifest import settings_fields
from rag.settings import Settings

log = logging.getLogger("rag.eval")


def settings_key(settings: Settings) -> str:
    text = json.dumps(settings_fields(settings), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def qa_corpus(name: str, records: tuple[CorpusRecord, ...], settings: Settings) -> tuple[Path, str]:
    """A QA dataset's passages written once as BEIR `corpus.jsonl`, and its SHA-256."""
    folder = settings.eval.cache_dir
    folder.mkdir(parents=True, exist_ok=True)
    staging = folder / f".{name}-{os.getpid()}.jsonl"
    write_beir_corpus(records, staging)
    sha = file_sha256(staging)
    final = folder / f"{name}-{sha[:12]}.jsonl"
    staging.replace(final)
    return final, sha


def cached_index(
    name: str,
    corpus: Path,
    corpus_sha: str,
    settings: Settings,
    embedder: Callable[[], Embedder],
    progress: bool,
) -> Path:
    """The index of `corpus` (BEIR `corpus.jsonl`), built on first use."""
    tree = "-raptor" if settings.raptor.enabled else ""  # RAPTOR's summaries indexed too
    folder = settings.eval.cache_dir / f"{name}-{corpus_sha[:12]}-{settings_key(settings)}{tree}"
    index = folder / "index"
    if generations.has_index(index):
        log.info("reusing the cached index %s", index)
        return index
    folder.mkdir(parents=True, exist_ok=True)
    local = folder / "corpus.jsonl"
    if corpus.resolve() != local.resolve():
        shutil.copyfile(corpus, local)
    report = run_ingest(
        settings.model_copy(update={"index_dir": index}),
        Options([local], progress=progress),
        embedder,
    )
    log.info("built %s: %d chunks in %.0f s", index, report.chunks_total, report.seconds)
    if report.summaries is not None:
        log.info(
            "RAPTOR: %d summaries, %d written in %.0f s of LLM time",
            report.summaries,
            report.summaries_written,
            report.summary_seconds,
        )
    return index
