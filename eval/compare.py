"""`rag eval compare RUN_A RUN_B`: per-metric differences with a paired test.

Items are paired by key (the same query in the same mode, the same question);
only keys scored in both runs count. A difference is called better or worse
only when the sign-flip permutation test gives p < 0.05; the bootstrap 95%
interval of the mean difference is printed beside it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eval.stats import paired_test
from eval.tables import markdown_table
from rag.errors import ConfigError

SKIP = {"key", "kind", "id", "group", "ms", "first_token_ms"}


def load_results(run: Path) -> dict[str, Any]:
    path = run / "results.json" if run.is_dir() else run
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"cannot read {path}: {exc}", "pass a folder written by rag eval"
        ) from None
    return data


def compare_runs(run_a: Path, run_b: Path, metrics: Sequence[str] | None = None) -> str:
    a, b = load_results(run_a), load_results(run_b)
    if a.get("suite") != b.get("suite"):
        raise ConfigError(f"cannot compare a {a.get('suite')} run with a {b.get('suite')} run")
    items_a = {i["key"]: i for i in a["items"]}
    items_b = {i["key"]: i for i in b["items"]}
    shared = sorted(items_a.keys() & items_b.keys())
    if not shared:
        raise ConfigError("the two runs share no scored item", "run both on the same dataset")
    rows = []
    for group in sorted({items_a[k].get("group", "") for k in shared}):
        keys = [k for k in shared if items_a[k].get("group", "") == group]
        for metric in _metrics(items_a[keys[0]], metrics):
            pairs = [(items_a[k].get(metric), items_b[k].get(metric)) for k in keys]
            kept = [(float(x), float(y)) for x, y in pairs if _number(x) and _number(y)]
            if not kept:
                continue
            result = paired_test([x for x, _ in kept], [y for _, y in kept])
            rows.append(
                [
                    group,
                    metric,
                    result.n,
                    result.mean_a,
                    result.mean_b,
                    result.difference,
                    f"[{result.low:+.4f}, {result.high:+.4f}]",
                    f"{result.p_value:.4f}",
                    result.verdict(),
                ]
            )
    header = (
        f"A: {run_a} (commit {a.get('git_commit')})\nB: {run_b} (commit {b.get('git_commit')})\n"
        f"{len(shared)} items scored in both.\n\n"
    )
    headers = ["group", "metric", "n", "A", "B", "B - A", "95% CI", "p", "verdict"]
    return header + markdown_table(headers, rows)


def _metrics(item: dict[str, Any], wanted: Sequence[str] | None) -> list[str]:
    found = [k for k, v in item.items() if k not in SKIP and (_number(v) or v is None)]
    return [m for m in found if not wanted or m in wanted]


def _number(value: object) -> bool:
    return isinstance(value, int | float)  # booleans too: refused counts as 1
