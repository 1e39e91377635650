"""Answer latency with the local LLM: time to first token and total, p50.

A SciFact slice (the documents relevant to the first test claims, then
others up to `--docs`) is indexed once per chunk size; each claim is asked as
"Is it true that ...?". The default configuration (passages, chunk size,
prompt cache on) runs first; then each factor is varied alone: fewer or more
passages, another chunk size, the system prompt's cache off. The extractive
generator (no LLM) on the default configuration is the floor.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench.common import table, write_results
from eval.beir import load_queries
from ingest.run import Options, run_ingest
from rag.answer.build import LazyLLM, make_answerer
from rag.embedding import Embedder, make_embedder
from rag.retrieval.open import open_retriever
from rag.settings import Settings, build_settings


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    defaults = build_settings(use_env=False)
    configs = _configs(defaults, _ints(args.passages), _ints(args.chunk_sizes))
    queries = load_queries(args.dataset, "test")
    claims = list(queries.texts.items())[: args.questions]
    questions = [f"Is it true that {c[0].lower()}{c[1:].rstrip('.')}?" for _, c in claims]
    wanted = {doc for query_id, _ in claims for doc in queries.qrels[query_id]}
    embedder = make_embedder(defaults.embedding)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        corpus = _slice(args.dataset, wanted, args.docs, Path(tmp))
        for chunk_size, group in itertools.groupby(configs, key=lambda c: c["chunk_size"]):
            index = Path(tmp) / f"index-{chunk_size}"
            settings = _settings(index, chunk_size, 4, "local", True)
            run_ingest(settings, Options([corpus]), lambda: embedder)
            rows += [_measure(c, index, embedder, questions) for c in group]
    print(
        table(
            rows,
            [
                "generator",
                "passages",
                "chunk_size",
                "prefix_cache",
                "first_token_ms",
                "total_ms",
                "prompt_chars",
                "answered",
                "questions",
            ],
        )
    )
    write_results(out=args.out, name="answer", config={"questions": len(questions)}, results=rows)
    return rows


def _configs(defaults: Settings, passages: list[int], sizes: list[int]) -> list[dict[str, Any]]:
    base = {
        "generator": "local",
        "passages": defaults.answer.passages,
        "chunk_size": defaults.chunking.size,
        "prefix_cache": True,
    }
    configs = [base, base | {"generator": "extractive"}, base | {"prefix_cache": False}]
    configs += [base | {"passages": p} for p in passages if p != base["passages"]]
    configs += [base | {"chunk_size": s} for s in sizes if s != base["chunk_size"]]
    return sorted(configs, key=lambda c: c["chunk_size"] != base["chunk_size"])


def _measure(
    config: dict[str, Any], index: Path, embedder: Embedder, questions: list[str]
) -> dict[str, Any]:
    settings = _settings(
        index, config["chunk_size"], config["passages"], config["generator"], config["prefix_cache"]
    )
    llm = LazyLLM(settings)
    first, total, chars, answered, gated = [], [], [], 0, 0
    with open_retriever(settings, embedder) as retriever:
        answerer = make_answerer(settings, retriever, embedder, llm)
        answerer.answer(questions[0])  # warm-up: loads the model
        for question in questions:
            answer = answerer.answer(question)
            clock = answer.timings_ms
            if "first_token" not in clock:  # refused by the relevance gate: no generation
                gated += 1
                continue
            first.append(clock["first_token"])
            total.append(sum(clock.get(s, 0.0) for s in ("retrieve", "generate", "verify")))
            chars.append(sum(len(p.text) for p in answer.passages))
            answered += not answer.refused
    llm.close()
    return config | {
        "first_token_ms": round(statistics.median(first), 1) if first else None,
        "total_ms": round(statistics.median(total), 1) if total else None,
        "prompt_chars": round(statistics.median(chars)) if chars else None,
        "answered": answered,
        "gated": gated,
        "questions": len(questions),
    }


def _settings(index: Path, chunk_size: int, passages: int, generator: str, cache: bool) -> Settings:
    return build_settings(
        {
            "index_dir": index,
            "chunking": {"size": chunk_size},
            "answer": {"passages": passages, "generator": generator},
            "llm": {"prefix_cache": cache},
        },
        use_env=False,
    )


def _slice(dataset: Path, wanted: set[str], docs: int, tmp: Path) -> Path:
    folder = tmp / "corpus"
    folder.mkdir()
    kept: list[str] = []
    with (dataset / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            doc_id = json.loads(line)["_id"]
            if doc_id in wanted or len(kept) < docs - len(wanted):
                kept.append(line)
    (folder / "corpus.jsonl").write_text("".join(kept), encoding="utf-8")
    return folder


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]
