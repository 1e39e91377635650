"""What the answer suites share: the dataset's index, an answerer over it, and
the mapping from dataset passage ids to indexed documents."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.corpus_index import cached_index, qa_corpus
from eval.qa_data import QADataset, QAItem, load_qa_dataset
from eval.run_dir import RunDir
from eval.sampling import spread
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


@dataclass
class QARun:
    """A question-answering suite's dataset, results folder and stable slice of items."""

    dataset: QADataset
    run_dir: RunDir
    items: list[QAItem]


def start_qa_run(suite: str, options: dict[str, Any], config: dict[str, Any], out: Path) -> QARun:
    """The prologue the answer suites share: the dataset read and hashed into
    the run's configuration, the results folder opened (or resumed), and the
    slice of `--limit` items after `--offset` in the stable order."""
    dataset = load_qa_dataset(Path(options["dataset"]))
    config["dataset_sha256"] = dataset_hashes(dataset)
    run_dir = RunDir(out, suite, config, options["resume"])
    items = spread(dataset.items, lambda i: i.id, options["limit"], options.get("offset") or 0)
    return QARun(dataset, run_dir, items)


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
            doc_ids = {passage_id(row.metadata): row.doc_id for row in retriever.store.documents()}
            yield Bench(make_answerer(settings, retriever, embedder(), llm), llm, doc_ids)
    finally:
        llm.close()


def passage_id(metadata: Mapping[str, str]) -> str:
    return metadata.get("beir_id", "")
