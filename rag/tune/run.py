"""`rag tune`: synthetic questions, then fusion weights, recorded in the index."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

from rag.append_cache import AppendCache
from rag.embedding import Embedder
from rag.errors import ConfigError
from rag.index.generations import current_generation
from rag.index.tuning import QUESTIONS, tune_dir, write_record
from rag.llm.lazy import LazyLLM
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.open import open_queryable
from rag.retrieval.summaries import SummaryLeaves
from rag.settings import Settings
from rag.tune.fusion import TUNED_MODES, ModeChoice, choose, gather, kept
from rag.tune.questions import (
    SampledChunk,
    missing,
    question_cache,
    question_messages,
    sample_chunks,
    synthetic,
    write_questions,
)

ZERO_SHOT = "only the index's own chunks were used: no queries and no relevance judgments"
# A typical question's length in tokens, for the estimate.
TYPICAL_QUESTION = 24


@dataclass(frozen=True)
class TuneRequest:
    sample: int
    seed: int
    estimate_only: bool = False
    progress: bool = True


def estimate_seconds(llm: LazyLLM, todo: list[SampledChunk]) -> float | None:
    """LLM seconds the missing questions will take, from llama.cpp's measured speed
    on a prompt of their average length; None for a remote model (not measured)."""
    if llm.settings.llm.backend != "local":
        return None
    if not todo:
        return 0.0
    model = llm.model
    messages = [question_messages(c.text) for c in todo]
    lengths = [len(model.template.prompt(m)) // 4 for m in messages]  # ~4 chars a token
    read, generate = model.raw_speed(sum(lengths) // len(lengths), TYPICAL_QUESTION)
    return (read + generate) * len(todo)


def tune_index(
    settings: Settings,
    request: TuneRequest,
    embedder: Embedder,
    llm: LazyLLM,
    say: Callable[[str], None],
) -> dict[str, Any] | None:
    """The record written, or None when only the estimate was asked for."""
    index_dir = settings.index_dir
    untuned = settings.with_changes(retrieval={"use_tuning": False})
    retriever = open_queryable(current_generation(index_dir), untuned, embedder)
    try:
        summaries = set(SummaryLeaves.of(retriever.store).leaves)  # RAPTOR's: not text to ask about
        texts = [row for row in retriever.store.chunk_texts() if row[0] not in summaries]
        chunks = sample_chunks(texts, request.sample, request.seed)
        if not chunks:
            raise ConfigError(f"{index_dir} holds no chunks", "ingest documents first")
        cache = question_cache(tune_dir(index_dir) / QUESTIONS)
        todo = missing(chunks, cache)
        estimate = estimate_seconds(llm, todo)
        say(
            f"{len(chunks)} chunks sampled (seed {request.seed}), {len(chunks) - len(todo)} "
            f"with questions already; {len(todo)} to write, "
            + (
                f"about {estimate / 60:.1f} min of LLM time"
                if estimate is not None
                else "LLM time not estimated (remote model)"
            )
        )
        if request.estimate_only:
            return None
        spent = _write(todo, llm, cache, request.progress)
        model_name = str(getattr(llm.tasks, "name", settings.llm.backend)) if todo else "cached"
        return _choose_and_record(
            settings, retriever, chunks, cache, request, (spent, model_name), say
        )
    finally:
        retriever.close()


def _write(todo: list[SampledChunk], llm: LazyLLM, cache: AppendCache, progress: bool) -> float:
    if not todo:
        return 0.0
    with tqdm(total=len(todo), desc="questions", unit="q", disable=not progress) as bar:
        return write_questions(todo, llm.tasks, cache, lambda seconds: bar.update())


def _choose_and_record(
    settings: Settings,
    retriever: HybridRetriever,
    chunks: list[SampledChunk],
    cache: AppendCache,
    request: TuneRequest,
    llm: tuple[float, str],
    say: Callable[[str], None],
) -> dict[str, Any]:
    llm_seconds, model_name = llm
    started = time.perf_counter()
    questions = synthetic(chunks, cache)
    depth = settings.retrieval.candidates
    with tqdm(total=len(questions), desc="retrieving", disable=not request.progress) as bar:
        candidates = gather(retriever, questions, depth, bar.update)
    trips = kept(candidates)
    if not trips:
        raise ConfigError("no synthetic question retrieves its own chunk", "tune a larger sample")
    r = settings.retrieval
    baseline = (r.dense_weight, r.sparse_weight)
    choices = [choose(trips, mode, baseline, r.rrf_k) for mode in TUNED_MODES]
    for c in choices:
        say(_line(c))
    record = {
        "generation": retriever.snapshot.generation,
        "sample": len(chunks),
        "seed": request.seed,
        "questions": len(questions),
        "round_trip_kept": len(trips),
        "model": model_name,
        "llm_seconds": round(llm_seconds, 1),
        "choose_seconds": round(time.perf_counter() - started, 1),
        "zero_shot": ZERO_SHOT,
        "weights": {
            c.mode.value: {"dense": c.kept[0], "sparse": c.kept[1]}
            for c in choices
            if c.kept != c.baseline
        },
        "modes": {c.mode.value: _figures(c) for c in choices},
    }
    path = write_record(settings.index_dir, record)
    say(f"recorded in {path}")
    return record


def _figures(choice: ModeChoice) -> dict[str, Any]:
    return {
        "baseline": {"dense": choice.baseline[0], "sparse": choice.baseline[1]},
        "baseline_mrr@10": round(choice.baseline_mrr, 4),
        "best": {"dense": choice.best[0], "sparse": choice.best[1]},
        "best_mrr@10": round(choice.best_mrr, 4),
        "grid_mrr@10": {str(w): round(m, 4) for w, m in choice.grid.items()},
    }


def _line(choice: ModeChoice) -> str:
    verdict = "kept" if choice.kept != choice.baseline else "configured weights stand"
    return (
        f"{choice.mode.value}: MRR@10 {choice.baseline_mrr:.4f} at dense weight "
        f"{choice.baseline[0]:g}, best {choice.best_mrr:.4f} at {choice.best[0]:g} ({verdict})"
    )
