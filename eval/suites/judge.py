"""Judge validation: does the support judge tell SUPPORT from CONTRADICT and
not-enough-info on SciFact claims?

Two scorers are validated: the pipeline the answers use (the lexical test,
then the LLM for the undecided) and the LLM judge alone. Reported: accuracy
and balanced accuracy at `answer.support_threshold`, ROC AUC, and the share
judged supported per label.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from eval.answer_metrics import roc_auc
from eval.claims import ClaimPair, load_claim_pairs
from eval.run_dir import RunDir
from eval.tables import markdown_table
from rag.answer.build import LazyJudge
from rag.answer.verify import SupportJudge, support_score
from rag.hashing import file_sha256
from rag.index.terms import TermAnalyzer
from rag.llm.lazy import LazyLLM
from rag.settings import Settings

SCORERS = ("pipeline", "llm")
LABELS = ("SUPPORT", "CONTRADICT", "NEI")


def claims_hashes(folder: Path, split: str) -> dict[str, str]:
    files = [f"claims_{split}.csv", "corpus_train.csv"]
    return {name: file_sha256(folder / name) for name in files if (folder / name).is_file()}


def validate(
    pairs: Sequence[ClaimPair],
    judge: SupportJudge,
    analyzer: TermAnalyzer,
    threshold: float,
    out: RunDir,
    progress: bool,
) -> dict[str, Any]:
    todo = [p for p in pairs if not out.done(f"judge|{p.id}")]
    for pair in tqdm(todo, desc="judge pairs", disable=not progress):
        score, method = support_score(pair.claim, [pair.passage], judge, analyzer)
        llm = score if method == "judge" else judge.support(pair.claim, pair.passage)
        out.add(
            f"judge|{pair.id}",
            {
                "kind": "judge",
                "id": pair.id,
                "group": pair.label,
                "supported": pair.supported,
                "pipeline": score,
                "method": method,
                "llm": llm,
            },
        )
    wanted = {f"judge|{p.id}" for p in pairs}
    return summarize([i for i in out.items("judge") if i["key"] in wanted], threshold)


def summarize(items: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    labels = [bool(i["supported"]) for i in items]
    result: dict[str, Any] = {"n": len(items), "threshold": threshold, "scorers": {}}
    for scorer in SCORERS:
        scores = [float(i[scorer]) for i in items]
        said = [s >= threshold for s in scores]
        hits = [s == y for s, y in zip(said, labels, strict=True)]
        rates = {
            label: _share([s for s, i in zip(said, items, strict=True) if i["group"] == label])
            for label in LABELS
        }
        positives = [h for h, y in zip(hits, labels, strict=True) if y]
        negatives = [h for h, y in zip(hits, labels, strict=True) if not y]
        result["scorers"][scorer] = {
            "accuracy": _share(hits),
            "balanced_accuracy": _mean_of(_share(positives), _share(negatives)),
            "roc_auc": roc_auc(scores, labels),
            "judged_supported": rates,
        }
    result["methods"] = {m: sum(i["method"] == m for i in items) for m in ("lexical", "judge")}
    return result


def _share(values: Sequence[bool]) -> float | None:
    return sum(values) / len(values) if values else None


def _mean_of(*values: float | None) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def table(summary: dict[str, Any]) -> str:
    rows = []
    for scorer, s in summary["scorers"].items():
        rates = s["judged_supported"]
        rows.append(
            [
                scorer,
                s["accuracy"],
                s["balanced_accuracy"],
                s["roc_auc"],
                *(rates[label] for label in LABELS),
            ]
        )
    headers = [
        "scorer",
        "accuracy",
        "balanced acc.",
        "ROC AUC",
        *(f"supported: {label}" for label in LABELS),
    ]
    return markdown_table(headers, rows)


def main(
    options: dict[str, Any], config: dict[str, Any], settings: Settings, out: Path, progress: bool
) -> Path:
    from eval import plots

    folder, split = Path(options["dataset"]), options["split"]
    pairs = load_claim_pairs(folder, split, options["limit"])
    config["dataset_sha256"] = claims_hashes(folder, split)
    run_dir = RunDir(out, "judge", config, options["resume"])
    llm = LazyLLM(settings)
    try:
        summary = validate(
            pairs,
            LazyJudge(llm),
            TermAnalyzer(settings.tokenizer),
            settings.answer.support_threshold,
            run_dir,
            progress,
        )
    finally:
        llm.close()
    items = run_dir.items("judge")
    for scorer in SCORERS:
        plots.roc_curve(
            [i[scorer] for i in items],
            [i["supported"] for i in items],
            out / f"roc_{scorer}.png",
            f"support judge ({scorer}) on SciFact claims",
        )
    text = (
        f"# Judge validation: SciFact claims ({split}), {summary['n']} pairs\n\n"
        f"Threshold {summary['threshold']}; commit {run_dir.meta.get('git_commit')}. "
        f"The pipeline decided {summary['methods']['lexical']} pairs lexically and sent "
        f"{summary['methods']['judge']} to the LLM.\n\n{table(summary)}\n"
    )
    return run_dir.finish(summary, text)
