"""Answers suite: SQuAD or HotpotQA questions answered over the dataset's corpus.

Per question: whether the gold passages were retrieved; correctness (token F1,
exact match, and "contains a reference answer", since generated answers are
longer than SQuAD spans); citation precision (cited passages that hold a
supporting fact) and recall (facts found in a cited passage); faithfulness
(share of answer sentences the judge found supported by what they cite); the
ragas metrics; latency. Faithfulness is reported only beside the judge's
validation on SciFact claims, run first in the same report.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval import answer_metrics as am
from eval.claims import load_claim_pairs
from eval.qa_data import QAItem
from eval.ragas_metrics import LLMScorer, Sample, non_llm_scores
from eval.suites import judge
from eval.suites.common import open_bench, passage_id, start_qa_run
from eval.tables import markdown_table, percentiles
from rag.answer.answerer import Answer
from rag.answer.build import LazyJudge
from rag.embedding import Embedder
from rag.errors import ConfigError
from rag.index.terms import TermAnalyzer
from rag.settings import Settings

ALL = ("gold_retrieved", "refused", "f1", "exact_match", "contains")
ANSWERED = ("f1", "contains", "citation_precision", "citation_recall", "faithfulness")


def claims_folder(options: dict[str, Any]) -> Path:
    if options.get("claims"):
        return Path(options["claims"])
    dataset = Path(options["dataset"]).resolve()
    home = dataset.parent.parent if dataset.is_file() else dataset.parent
    return home / "scifact-claims"


def score_item(item: QAItem, answer: Answer, ms: float) -> dict[str, Any]:
    retrieved = [passage_id(p.metadata) for p in answer.passages]
    cited = [c.passage for c in answer.citations]
    response = "" if answer.refused else answer.answer
    verdicts = answer.verdicts if not answer.refused else []
    return {
        "kind": "question",
        "id": item.id,
        "group": "answers",
        "question": item.question,
        "answer": answer.answer,
        "references": list(item.answers),
        "refused": answer.refused,
        "reason": answer.reason,
        "generator": answer.generator,
        "fallback_reason": answer.fallback_reason,
        "retrieved": retrieved,
        "gold_retrieved": sum(g in retrieved for g in item.gold_ids) / len(item.gold_ids),
        "f1": am.token_f1(response, item.answers),
        "exact_match": am.exact_match(response, item.answers),
        "contains": am.contains_answer(response, item.answers),
        "citation_precision": am.citation_precision(
            [passage_id(p.metadata) in item.gold_ids and _holds_fact(p.text, item) for p in cited]
        ),
        "citation_recall": None
        if answer.refused
        else am.citation_recall(
            [any(am.contains_text(p.text, f) for p in cited) for f in item.facts]
        ),
        "faithfulness": sum(v.supported for v in verdicts) / len(verdicts) if verdicts else None,
        "ms": round(ms, 1),
        "first_token_ms": answer.timings_ms.get("first_token"),
    }


def _holds_fact(text: str, item: QAItem) -> bool:
    return any(am.contains_text(text, fact) for fact in item.facts)


def sample_of(item: QAItem, answer: Answer) -> Sample:
    return Sample(
        question=item.question,
        response="" if answer.refused else answer.answer,
        reference=item.answers[0],
        retrieved_ids=[passage_id(p.metadata) for p in answer.passages],
        gold_ids=list(item.gold_ids),
        retrieved_texts=[p.text for p in answer.passages],
        facts=list(item.facts),
    )


def summarize(items: list[dict[str, Any]], judge_summary: dict[str, Any] | None) -> dict[str, Any]:
    answered = [i for i in items if not i["refused"]]
    summary: dict[str, Any] = {
        "n": len(items),
        "answered": len(answered),
        "all": {m: am.mean([float(i[m]) for i in items]) for m in ALL},
        "answered_only": {m: am.mean([i[m] for i in answered]) for m in ANSWERED},
        "latency_ms": percentiles([i["ms"] for i in items]),
        "first_token_ms": percentiles(
            [i["first_token_ms"] for i in items if i["first_token_ms"] is not None]
        ),
        "judge_validation": judge_summary,
    }
    if judge_summary is None:
        summary["answered_only"]["faithfulness"] = None
    ragas_keys = sorted(
        {k for i in items for k in i if k.startswith("ragas_") and not k.endswith("_error")}
    )
    summary["ragas"] = {k: am.mean([i.get(k) for i in answered]) for k in ragas_keys}
    return summary


def markdown(summary: dict[str, Any], meta: dict[str, Any]) -> str:
    config = meta["config"]
    judged = summary["judge_validation"]
    parts = [
        f"# Answers: {Path(config['dataset']).name}",
        f"{summary['n']} questions, {summary['answered']} answered; generator "
        f"{config['settings']['answer']['generator']}; commit {meta.get('git_commit')}.",
        "## All questions (a refusal scores 0)",
        markdown_table(list(ALL), [[summary["all"][m] for m in ALL]]),
        "## Answered questions",
        markdown_table(list(ANSWERED), [[summary["answered_only"][m] for m in ANSWERED]]),
        "## Latency (ms)",
        markdown_table(
            ["", "p50", "p95"],
            [
                ["total", summary["latency_ms"]["p50"], summary["latency_ms"]["p95"]],
                ["first token", summary["first_token_ms"]["p50"], summary["first_token_ms"]["p95"]],
            ],
        ),
    ]
    if judged:
        parts += [
            f"## Faithfulness judge, validated on {judged['n']} SciFact claim pairs",
            "Faithfulness above comes from the `pipeline` scorer (lexical test, then the LLM).",
            judge.table(judged),
        ]
    else:
        parts.append("Faithfulness is not reported: the judge was not validated in this run.")
    if summary["ragas"]:
        parts += [
            "## ragas (answered questions)",
            markdown_table(["metric", "mean"], list(summary["ragas"].items())),
        ]
        if "ragas_faithfulness" not in summary["ragas"]:
            parts.append(
                "ragas' LLM metrics did not run: no judge server is configured "
                "(`eval.judge_base_url`); faithfulness above is from the validated local judge."
            )
    return "\n\n".join(parts) + "\n"


def main(
    options: dict[str, Any],
    config: dict[str, Any],
    settings: Settings,
    embedder: Callable[[], Embedder],
    out: Path,
    progress: bool,
) -> Path:
    from eval import plots

    judge_limit = int(options.get("judge_limit") or 0)
    claims = claims_folder(options)
    if judge_limit and not claims.is_dir():
        raise ConfigError(
            f"{claims} is missing: the faithfulness judge is validated on SciFact claims",
            "pass --claims DIR, or --judge-limit 0 to report no faithfulness",
        )
    config["judge_claims"] = str(claims) if judge_limit else None
    run = start_qa_run("answers", options, config, out)
    run_dir, items = run.run_dir, run.items
    mode = settings.retrieval.mode
    with open_bench(run.dataset, settings, embedder, options.get("index"), progress) as bench:
        judge_summary = None
        if judge_limit:
            judge_summary = judge.validate(
                load_claim_pairs(claims, "validation", judge_limit),
                LazyJudge(bench.llm),
                TermAnalyzer(settings.tokenizer),
                settings.answer.support_threshold,
                run_dir,
                progress,
            )
        scorer = LLMScorer(settings.eval, embedder()) if settings.eval.judge_base_url else None
        todo = [i for i in items if not run_dir.done(f"q|{i.id}")]
        for item in tqdm(todo, desc="questions", disable=not progress):
            started = time.perf_counter()
            answer = bench.answerer.answer(item.question, mode)
            record = score_item(item, answer, (time.perf_counter() - started) * 1000)
            record.update(non_llm_scores(sample_of(item, answer)))
            if scorer is not None and not answer.refused:
                record.update(scorer.score(sample_of(item, answer)))
            run_dir.add(f"q|{item.id}", record)
    wanted = {f"q|{i.id}" for i in items}
    scored = [i for i in run_dir.items("question") if i["key"] in wanted]
    summary = summarize(scored, judge_summary)
    plots.latency_boxes(
        {
            "total": [i["ms"] for i in scored],
            "first token": [i["first_token_ms"] for i in scored if i["first_token_ms"]],
        },
        out / "latency.png",
    )
    return run_dir.finish(summary, markdown(summary, run_dir.meta))
