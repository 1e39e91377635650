"""Refusal suite: the same questions with and without their supporting passages.

Each question is asked twice: over the whole corpus ("answerable"), and with
its gold passages excluded before ranking on both retrievers ("removed"; BM25
statistics still count them, which changes scores negligibly). A removed
question should be refused, an answerable one answered.

Generation runs with the relevance gate open (`answer.min_relevance` = 0) and
records the gate's score, so the trade-off curve is computed for every
threshold: at threshold t an item is refused when its score is below t or when
the answerer refused it after generating (the model said it did not know, or
no sentence was supported).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval import answer_metrics as am
from eval.suites.common import open_bench, passage_id, start_qa_run
from eval.tables import markdown_table
from rag.answer.answerer import best_relevance
from rag.embedding import Embedder
from rag.retrieval.filters import Filters
from rag.settings import Settings

CASES = ("answerable", "removed")
THRESHOLDS = tuple(round(0.05 * n, 2) for n in range(15))


def refused_at(item: dict[str, Any], threshold: float) -> bool:
    return bool(item["gate"] < threshold or item["refused_after_gate"])


def curve(items: list[dict[str, Any]], thresholds: tuple[float, ...]) -> list[dict[str, float]]:
    answerable = [i for i in items if i["group"] == "answerable"]
    removed = [i for i in items if i["group"] == "removed"]
    points = []
    for t in thresholds:
        points.append(
            {
                "threshold": t,
                "false_refusal": _rate(answerable, t),
                "refusal_when_removed": _rate(removed, t),
            }
        )
    return points


def _rate(items: list[dict[str, Any]], threshold: float) -> float:
    return sum(refused_at(i, threshold) for i in items) / len(items) if items else 0.0


def main(
    options: dict[str, Any],
    config: dict[str, Any],
    settings: Settings,
    embedder: Callable[[], Embedder],
    out: Path,
    progress: bool,
) -> Path:
    from eval import plots

    run = start_qa_run("refusal", options, config, out)
    run_dir, items = run.run_dir, run.items
    chosen = settings.answer.min_relevance
    open_gate = settings.with_changes(answer={"min_relevance": -1.0})
    mode = settings.retrieval.mode
    with open_bench(run.dataset, open_gate, embedder, options.get("index"), progress) as bench:
        todo = [(i, c) for i in items for c in CASES if not run_dir.done(f"{c}|{i.id}")]
        for item, case in tqdm(todo, desc="questions x cases", disable=not progress):
            excluded = [bench.doc_ids[g] for g in item.gold_ids if g in bench.doc_ids]
            filters = Filters(exclude_doc_ids=tuple(excluded)) if case == "removed" else None
            started = time.perf_counter()
            answer = bench.answerer.answer(item.question, mode, filters)
            run_dir.add(
                f"{case}|{item.id}",
                {
                    "kind": "refusal",
                    "id": item.id,
                    "group": case,
                    "gate": best_relevance(answer.hits),
                    "retrieved": [passage_id(p.metadata) for p in answer.passages],
                    "refused_after_gate": answer.refused,
                    "reason": answer.reason,
                    "answer": answer.answer,
                    "contains": am.contains_answer(
                        "" if answer.refused else answer.answer, item.answers
                    ),
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
    wanted = {f"{c}|{i.id}" for i in items for c in CASES}
    scored = [i for i in run_dir.items("refusal") if i["key"] in wanted]
    thresholds = tuple(sorted({*THRESHOLDS, chosen}))
    points = curve(scored, thresholds)
    at_chosen = next(p for p in points if p["threshold"] == chosen)
    leaked = [i for i in scored if i["group"] == "removed" and not refused_at(i, chosen)]
    summary = {
        "n_questions": len(scored) // 2,
        "min_relevance": chosen,
        "at_min_relevance": at_chosen,
        "curve": points,
        "removed_answered_with_reference": int(sum(i["contains"] for i in leaked)),
    }
    plots.tradeoff_curve(points, chosen, out / "refusal_tradeoff.png")
    return run_dir.finish(summary, markdown(summary, run_dir.meta))


def markdown(summary: dict[str, Any], meta: dict[str, Any]) -> str:
    at = summary["at_min_relevance"]
    rows = [
        [p["threshold"], p["false_refusal"], p["refusal_when_removed"]] for p in summary["curve"]
    ]
    return (
        f"# Refusal: {Path(meta['config']['dataset']).name}, {summary['n_questions']} questions\n\n"
        f"At `answer.min_relevance` = {summary['min_relevance']}: refused "
        f"{at['refusal_when_removed']:.1%} of questions whose passages were removed, and "
        f"{at['false_refusal']:.1%} of answerable ones. Of the removed questions answered "
        f"anyway, {summary['removed_answered_with_reference']} still contained a reference "
        f"answer (another passage held it).\n\n"
        + markdown_table(["threshold", "false refusal", "refusal when removed"], rows)
        + "\n"
    )
