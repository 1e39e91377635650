"""Running one suite into a results folder: configuration, items, summary, plots."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from eval.run_dir import RunDir
from rag.embedding import Embedder, make_embedder
from rag.settings import Settings

# Options that do not change what a run measures: a resumed run may differ in these.
NOT_CONFIG = ("out", "limit", "resume", "no_progress", "suite", "command", "index")


def run_suite(
    suite: str, options: dict[str, Any], settings: Settings, out: Path, progress: bool
) -> Path:
    @cache
    def embedder() -> Embedder:
        return make_embedder(settings.embedding)

    config = {k: _plain(v) for k, v in options.items() if k not in NOT_CONFIG}
    config["settings"] = settings.record()
    if suite == "retrieval":
        return _retrieval(options, config, settings, embedder, out, progress)
    if suite == "judge":
        from eval.suites import judge

        return judge.main(options, config, settings, out, progress)
    if suite == "answers":
        from eval.suites import answers

        return answers.main(options, config, settings, embedder, out, progress)
    from eval.suites import refusal

    assert suite == "refusal", suite
    return refusal.main(options, config, settings, embedder, out, progress)


def _retrieval(
    options: dict[str, Any],
    config: dict[str, Any],
    settings: Settings,
    embedder: Any,
    out: Path,
    progress: bool,
) -> Path:
    from eval import plots
    from eval.suites import retrieval

    dataset = Path(options["dataset"])
    config["dataset_sha256"] = retrieval.dataset_hashes(dataset, options["split"])
    run_dir = RunDir(out, "retrieval", config, options["resume"])
    job = retrieval.RetrievalRun(
        dataset, options["split"], options["limit"], options["index"], progress
    )
    summary = retrieval.run_retrieval(job, settings, embedder, run_dir)
    plots.mode_bars(summary["modes"], summary["published"], out / "ndcg_by_mode.png")
    plots.latency_boxes(
        {m: [i["ms"] for i in run_dir.items() if i["group"] == m] for m in summary["modes"]},
        out / "latency.png",
    )
    return run_dir.finish(summary, retrieval.markdown(summary, run_dir.meta))


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Path) else value
