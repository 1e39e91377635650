"""Retrieval suite: every mode on the same index, per query, on a BEIR dataset
(or on SQuAD or HotpotQA, each question judged by its gold passages).

Modes: dense, sparse, RRF and min-max fusion with the configured weights,
each fusion mode again with the weights `rag tune` chose for the index where
it has, and the configured mode with the configured reranker when one is set.
Each query retrieves `eval.depth` chunks (both retrievers pass that many to
fusion), ranked into documents by their best chunk; nDCG@10, recall@10,
recall@100 and MRR@10 are computed on the documents. The report puts the
published figures for the corpus beside ours.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.beir import BeirQueries, beir_ids_by_position, document_ranking, load_queries
from eval.corpus_index import cached_index, qa_corpus
from eval.metrics import mrr_at_k, ndcg_at_k, recall_at_k
from eval.qa_data import load_qa_dataset
from eval.references import published_for
from eval.run_dir import RunDir
from eval.sampling import spread
from eval.tables import markdown_table, percentiles
from rag.embedding import Embedder
from rag.errors import ConfigError
from rag.hashing import file_sha256
from rag.index.generations import current_generation
from rag.llm.lazy import LazyLLM
from rag.modes import FusionMode
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.open import index_tuning, open_queryable
from rag.retrieval.rerank import make_reranker
from rag.settings import Settings

METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


@dataclass(frozen=True)
class RetrievalRun:
    dataset: Path
    split: str
    limit: int | None
    index: Path | None
    progress: bool = True


def is_beir(dataset: Path) -> bool:
    return (dataset / "corpus.jsonl").is_file()


def dataset_hashes(dataset: Path, split: str) -> dict[str, str]:
    if not is_beir(dataset):  # SQuAD or HotpotQA: one file, no splits
        return {f.name: file_sha256(f) for f in load_qa_dataset(dataset).files}
    files = ["corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"]
    for name in files:
        if not (dataset / name).is_file():
            raise ConfigError(f"{dataset / name} is missing", "pass a BEIR dataset folder")
    return {name: file_sha256(dataset / name) for name in files}


@dataclass(frozen=True)
class Judged:
    """A dataset as the suite needs it: a BEIR corpus file, queries and judgements."""

    name: str
    corpus: Path
    corpus_sha: str
    queries: BeirQueries


def judged(run: RetrievalRun, settings: Settings) -> Judged:
    """A BEIR folder as it is; a SQuAD or HotpotQA file as a corpus of its
    passages, its questions, and each question's gold passages (relevance 1)."""
    if is_beir(run.dataset):
        corpus = run.dataset / "corpus.jsonl"
        queries = load_queries(run.dataset, run.split)
        return Judged(run.dataset.name, corpus, file_sha256(corpus), queries)
    qa = load_qa_dataset(run.dataset)
    corpus, sha = qa_corpus(qa.name, qa.corpus, settings)
    texts = {item.id: item.question for item in qa.items}
    qrels = {item.id: dict.fromkeys(item.gold_ids, 1.0) for item in qa.items if item.gold_ids}
    return Judged(qa.name, corpus, sha, BeirQueries({q: texts[q] for q in qrels}, qrels))


def run_retrieval(
    run: RetrievalRun, settings: Settings, embedder: Callable[[], Embedder], out: RunDir
) -> dict[str, Any]:
    data = judged(run, settings)
    queries = data.queries
    index = run.index or cached_index(
        data.name, data.corpus, data.corpus_sha, settings, embedder, run.progress
    )
    ids = spread(sorted(queries.texts), str, run.limit)
    depth = settings.eval.depth
    settings = settings.with_changes(retrieval={"candidates": max(depth, 100)})
    llm = LazyLLM(settings)
    untuned = settings.with_changes(retrieval={"use_tuning": False})
    plain = open_queryable(current_generation(index), untuned, embedder())
    try:
        beir_ids = beir_ids_by_position(plain.store)
        if not set(beir_ids) & {d for q in ids for d in queries.qrels[q]}:
            raise ConfigError(f"{index} holds none of the judged documents of {run.dataset}")
        modes: dict[str, tuple[HybridRetriever, FusionMode]] = {
            m.value: (plain, m) for m in FusionMode
        }
        tuned = index_tuning(index, settings)
        for mode in tuned or {}:
            modes[f"{mode.value}+tuned"] = (plain.with_tuning(tuned), mode)
        reranker = make_reranker(settings, llm)
        if reranker is not None:
            reranked = plain.with_reranker(reranker)
            mode = settings.retrieval.mode
            modes[f"{mode.value}+{settings.retrieval.reranker}"] = (reranked, mode)
        todo = [(q, m) for q in ids for m in modes if not out.done(f"{q}|{m}")]
        for query_id, name in tqdm(todo, desc="queries x modes", disable=not run.progress):
            retriever, mode = modes[name]
            started = time.perf_counter()
            hits = retriever.search(queries.texts[query_id], depth, mode).hits
            ms = (time.perf_counter() - started) * 1000
            ranking = document_ranking([h.position for h in hits], beir_ids)
            out.add(f"{query_id}|{name}", _scores(query_id, name, ranking, queries.qrels, ms))
    finally:
        plain.close()
        llm.close()
    return summarize(out.items(), data.corpus_sha, list(modes))


def _scores(
    query_id: str, mode: str, ranking: list[str], qrels: dict[str, dict[str, float]], ms: float
) -> dict[str, Any]:
    relevant = qrels[query_id]
    return {
        "kind": "query",
        "id": query_id,
        "group": mode,
        "ndcg@10": ndcg_at_k(ranking, relevant, 10),
        "recall@10": recall_at_k(ranking, relevant, 10),
        "recall@100": recall_at_k(ranking, relevant, 100),
        "mrr@10": mrr_at_k(ranking, relevant, 10),
        "ms": round(ms, 3),
        "top10": ranking[:10],
    }


def summarize(items: list[dict[str, Any]], corpus_sha: str, modes: list[str]) -> dict[str, Any]:
    per_mode: dict[str, dict[str, Any]] = {}
    for mode in modes:
        rows = [i for i in items if i["group"] == mode]
        if not rows:
            continue
        per_mode[mode] = {m: sum(r[m] for r in rows) / len(rows) for m in METRICS}
        per_mode[mode].update(
            n=len(rows), **{f"ms_{k}": v for k, v in percentiles([r["ms"] for r in rows]).items()}
        )
    best = max(per_mode, key=lambda m: per_mode[m]["ndcg@10"]) if per_mode else None
    references = [
        {"method": r.method, "ndcg@10": r.ndcg_at_10, "source": r.source}
        for r in published_for(corpus_sha)
    ]
    return {"modes": per_mode, "best_mode": best, "published": references}


def markdown(summary: dict[str, Any], meta: dict[str, Any]) -> str:
    config = meta["config"]
    rows = [
        [mode, *(s[m] for m in METRICS), s["ms_p50"], s["ms_p95"], s["n"]]
        for mode, s in summary["modes"].items()
    ]
    parts = [
        f"# Retrieval: {config['dataset']} ({config['split']})",
        f"Commit {meta.get('git_commit')}; best mode by nDCG@10: **{summary['best_mode']}**.",
        markdown_table(["mode", *METRICS, "ms p50", "ms p95", "queries"], rows),
    ]
    if summary["published"]:
        parts += [
            "## Published (nDCG@10, test split)",
            markdown_table(
                ["method", "nDCG@10", "source"],
                [[r["method"], r["ndcg@10"], r["source"]] for r in summary["published"]],
            ),
        ]
    return "\n\n".join(parts) + "\n"
