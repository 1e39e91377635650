"""Benchmarks are scripts, not timed tests: each runs once on a small size here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DATASETS, ROOT, need

pytestmark = pytest.mark.slow


def run_script(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run `bench/NAME` with the SciFact queries; fails the test if it exits non-zero."""
    queries = need(DATASETS / "beir-scifact")
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / name), "--queries", str(queries), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_search_latency_benchmark_runs(facts_index: Path, tmp_path: Path) -> None:
    out = tmp_path / "search.json"
    done = run_script(
        "search_latency.py", "--index", facts_index, "--n", "5", "--warmup", "1", "--out", out
    )
    for mode in ("rrf", "minmax", "dense", "sparse"):
        assert any(line.startswith(mode) for line in done.stdout.splitlines())
    figures = json.loads(out.read_text())
    assert figures["queries"] == 5
    assert all(figures["http"][m]["p50_ms"] > 0 for m in ("rrf", "dense", "sparse", "minmax"))


def test_answer_latency_benchmark_runs(facts_index: Path, tmp_path: Path) -> None:
    out = tmp_path / "answer.json"
    run_script("answer_latency.py", "--index", facts_index, "--n", "2", "--out", out)
    figures = json.loads(out.read_text())
    for generator in ("local", "extractive"):
        assert figures[generator]["answered"] + figures[generator]["refused"] == 2
        assert figures[generator]["p50_ms"]["retrieve"] > 0
