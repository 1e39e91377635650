"""Answer latency with the local LLM: time to first token and total, p50.

Answers BEIR test queries in-process with the default settings (passages shown,
prompt, verification) and reports per-stage medians; the extractive generator
(no LLM, the fallback) runs on the same queries as the baseline.

    python bench/answer_latency.py --index scifact-index \
        --queries ../shared/datasets/beir-scifact --n 20 --out bench-results/answer.json

SciFact's queries are claims; each is asked as "Is it true that <claim>?".
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from eval.beir import load_queries
from rag.answer.build import LazyLLM, make_answerer
from rag.embedding import SentenceTransformerEmbedder
from rag.index.snapshot import open_current
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import Settings, build_settings

STAGES = ("retrieve", "first_token", "generate", "verify", "total")


def run(settings: Settings, questions: list[str]) -> dict[str, object]:
    snapshot = open_current(settings.index_dir)
    embedder = SentenceTransformerEmbedder(settings.embedding)
    llm = LazyLLM(settings)
    retriever = HybridRetriever(snapshot, embedder, settings.tokenizer, settings.retrieval)
    answerer = make_answerer(settings, retriever, embedder, llm)
    answerer.answer(questions[0])  # warm-up: loads the model
    timings: dict[str, list[float]] = {stage: [] for stage in STAGES}
    refused = 0
    for question in questions:
        answer = answerer.answer(question)
        refused += answer.refused
        stages = answer.timings_ms
        for stage in STAGES[:-1]:
            if stage in stages:
                timings[stage].append(stages[stage])
        timings["total"].append(sum(stages.get(s, 0.0) for s in ("retrieve", "generate", "verify")))
    llm.close()
    snapshot.close()
    medians = {s: round(statistics.median(v), 1) for s, v in timings.items() if v}
    return {"p50_ms": medians, "refused": refused, "answered": len(questions) - refused}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=Path, default=Path("../shared/datasets/beir-scifact"))
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    claims = list(load_queries(args.queries, "test").texts.values())[: args.n]
    # SciFact's queries are claims; asked as yes/no questions they are answerable.
    questions = [f"Is it true that {c[0].lower()}{c[1:].rstrip('.')}?" for c in claims]
    results = {}
    for generator in ("local", "extractive"):
        settings = build_settings(
            {"index_dir": args.index, "answer": {"generator": generator}}, use_env=False
        )
        results[generator] = run(settings, questions)
    print(f"{len(questions)} questions, {build_settings(use_env=False).answer.passages} passages")
    for generator, figures in results.items():
        print(
            f"{generator:<11} p50 ms {figures['p50_ms']}  answered {figures['answered']}, "
            f"refused {figures['refused']}"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
