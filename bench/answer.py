"""Answer latency with the local LLM: time to first token and to the checked
answer, p50, beside the model's raw llama.cpp speed measured in the same run.

SQuAD dev questions (the first of the stable order) are asked over their
paragraphs plus others up to `--docs`, indexed once. The default
configuration runs first; then one factor at a time: whole passages instead
of evidence excerpts, fewer passages, and the extractive generator (no LLM)
as the floor. Each local row reports the prompt tokens read per answer (past
the reused system prompt), prompt and generation tokens/s, and CPU time over
wall time: about 2.0 on 2 cores when nothing else competes for them.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import table, write_results
from eval.qa_data import QADataset, load_qa_dataset, write_beir_corpus
from eval.sampling import spread
from ingest.run import Options, run_ingest
from rag.answer.build import make_answerer
from rag.embedding import Embedder, make_embedder
from rag.llm.lazy import LazyLLM
from rag.llm.local import LocalLLM
from rag.retrieval.open import open_retriever
from rag.settings import Settings, build_settings

COLUMNS = [
    "generator",
    "passages",
    "evidence_chars",
    "first_token_ms",
    "total_ms",
    "prompt_tokens",
    "prompt_tok_s",
    "gen_tok_s",
    "cpu_per_wall",
    "answered",
    "gated",
    "questions",
]


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    defaults = build_settings(use_env=False)
    dataset = load_qa_dataset(args.dataset)
    items = spread(dataset.items, lambda i: i.id, args.questions)
    embedder = make_embedder(defaults.embedding)
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        corpus = _slice(dataset, {g for i in items for g in i.gold_ids}, args.docs, Path(tmp))
        run_ingest(_settings(index, {}), Options([corpus], progress=False), lambda: embedder)
        questions = [i.question for i in items]
        rows = [
            _measure(c, _settings(index, c), embedder, questions)
            for c in _configs(defaults, _ints(args.passages))
        ]
        rows.insert(0, _raw(_settings(index, {})))
    print(table(rows, COLUMNS))
    write_results(out=args.out, name="answer", config={"questions": len(questions)}, results=rows)
    return rows


def _configs(defaults: Settings, passages: list[int]) -> list[dict[str, Any]]:
    answer = defaults.answer
    base = {
        "generator": "local",
        "passages": answer.passages,
        "evidence_chars": answer.evidence_chars,
    }
    configs = [base, base | {"evidence_chars": 0}]
    configs += [base | {"passages": p} for p in passages if p != base["passages"]]
    return [*configs, base | {"generator": "extractive"}]


def _raw(settings: Settings) -> dict[str, Any]:
    """llama.cpp alone: a 256-token prompt read and 64 tokens generated, no grammar."""
    llm = LocalLLM(settings.llm)
    try:
        clock, cpu = time.perf_counter(), time.process_time()
        prompt_s, generate_s = llm.raw_speed(256, 64)
        ratio = (time.process_time() - cpu) / (time.perf_counter() - clock)
    finally:
        llm.close()
    return {
        "generator": "llama.cpp raw",
        "prompt_tokens": 256,
        "prompt_tok_s": round(256 / prompt_s, 1),
        "gen_tok_s": round(63 / generate_s, 1),
        "cpu_per_wall": round(ratio, 2),
    }


def _measure(
    config: dict[str, Any], settings: Settings, embedder: Embedder, questions: list[str]
) -> dict[str, Any]:
    llm = LazyLLM(settings)
    first, total, tokens, prompt_s, gen_s = [], [], [], [], []
    answered = gated = 0
    with open_retriever(settings, embedder, llm) as retriever:
        answerer = make_answerer(settings, retriever, embedder, llm)
        answerer.answer(questions[0])  # warm-up: loads the model
        clock, cpu = time.perf_counter(), time.process_time()
        for question in questions:
            answer = answerer.answer(question)
            times = answer.timings_ms
            if "first_token" not in times:  # refused by the relevance gate: no generation
                gated += 1
                continue
            first.append(times["first_token"] + times["retrieve"] + times.get("evidence", 0.0))
            total.append(
                sum(times.get(s, 0.0) for s in ("retrieve", "evidence", "generate", "verify"))
            )
            answered += not answer.refused
            speed = llm.model.last_speed if "model" in llm.__dict__ else None
            if config["generator"] == "local" and speed is not None:
                tokens.append(speed.prompt_tokens)
                prompt_s.append(speed.prompt_per_s())
                gen_s.append(speed.generated_per_s())
        ratio = (time.process_time() - cpu) / (time.perf_counter() - clock)
    llm.close()
    return config | {
        "first_token_ms": _median(first),
        "total_ms": _median(total),
        "prompt_tokens": _median(tokens),
        "prompt_tok_s": _median(prompt_s),
        "gen_tok_s": _median(gen_s),
        "cpu_per_wall": round(ratio, 2),
        "answered": answered,
        "gated": gated,
        "questions": len(questions),
    }


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 1) if present else None


def _settings(index: Path, config: dict[str, Any]) -> Settings:
    answer = {k: config[k] for k in ("generator", "passages", "evidence_chars") if k in config}
    return build_settings({"index_dir": index, "answer": answer}, use_env=False)


def _slice(dataset: QADataset, wanted: set[str], docs: int, tmp: Path) -> Path:
    """The questions' own paragraphs, then others in corpus order, `docs` in all."""
    kept = [r for r in dataset.corpus if r.id in wanted]
    kept += [r for r in dataset.corpus if r.id not in wanted][: max(0, docs - len(kept))]
    folder = tmp / "corpus"
    folder.mkdir()
    write_beir_corpus(tuple(kept), folder / "corpus.jsonl")
    return folder


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]
