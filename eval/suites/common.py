"""What the answer suites share: the dataset's index, an answerer over it, and
the mapping from dataset passage ids to indexed documents."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.corpus_index import cached_index, qa_corpus
from eval.qa_data import QADataset
from rag.answer.answerer import Answerer
from rag.answer.build import make_answerer
from rag.embedding import Embedder
from rag.hashing import file_sha256
from rag.llm.lazy import LazyLLM
from rag.retrieval.open import open_retriever
from rag.settings import Settings


@dataclass
class Bench:
    answerer: Answerer
    llm: LazyLLM
    doc_ids: dict[str, str]  # dataset passage id -> indexed document id


def dataset_hashes(dataset: QADataset) -> dict[str, str]:
    return {file.name: file_sha256(file) for file in dataset.files}


@contextmanager
def open_bench(
    dataset: QADataset,
    settings: Settings,
    embedder: Callable[[], Embedder],
    index: Path | None,
    progress: bool,
) -> Iterator[Bench]:
    if index is None:
        corpus, sha = qa_corpus(dataset.name, dataset.corpus, settings)
        index = cached_index(dataset.name, corpus, sha, settings, embedder, progress)
    llm = LazyLLM(settings)
    try:
        with open_retriever(settings, embedder(), llm, index) as retriever:
            doc_ids = {
                _beir_id(row["metadata"]): str(row["doc_id"]) for row in retriever.store.documents()
            }
            yield Bench(make_answerer(settings, retriever, embedder(), llm), llm, doc_ids)
    finally:
        llm.close()


def _beir_id(metadata: Any) -> str:
    import json

    return str(json.loads(str(metadata)).get("beir_id", ""))


def passage_id(metadata: dict[str, str]) -> str:
    return metadata.get("beir_id", "")
