"""Benchmarks are commands, not timed tests: each runs once on a small size here,
and the figures it writes are checked for shape and sanity, never for speed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rag.settings import AnswerSettings
from tests.conftest import DATASETS, PDFS, ROOT, need

pytestmark = pytest.mark.slow


def bench(tmp_path: Path, name: str, *args: str | Path) -> dict[str, Any]:
    """Run `rag bench NAME`, which must exit 0, and return the JSON it wrote."""
    out = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, "-m", "rag.cli.main", "bench", name, "--out", str(out), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures: dict[str, Any] = json.loads(out.read_text())
    assert figures["machine"]["cores"] >= 1
    return figures


def test_bm25_benchmark_compares_with_rank_bm25(tmp_path: Path) -> None:
    scifact = need(DATASETS / "beir-scifact")
    rows = bench(tmp_path, "bm25", "--sizes", "2000", "--queries", "20", "--dataset", scifact)[
        "results"
    ]
    assert [r["corpus"] for r in rows] == ["scifact", "2000"]
    for row in rows:
        assert 0 < row["p50_ms"] <= row["p95_ms"]
        assert row["baseline_p50_ms"] > 0
        assert row["overlap@10"] >= 0.9  # the same BM25, up to ties
        # bm25s on the same terms and parameters ranks alike (rag[bench] installs it).
        assert row["bm25s_backend"] == "numba"
        assert 0 < row["bm25s_p50_ms"] <= row["bm25s_p95_ms"]
        assert row["bm25s_overlap@10"] >= 0.95


def test_dense_benchmark_measures_recall_per_index_type(tmp_path: Path) -> None:
    rows = bench(tmp_path, "dense", "--sizes", "3000", "--queries", "20")["results"]
    assert {r["type"] for r in rows} == {"flat", "hnsw", "ivf-sq8"}
    flat = next(r for r in rows if r["type"] == "flat")
    assert flat["recall@10"] == 1.0 and flat["auto"] == "yes"
    assert all(0 < r["recall@10"] <= 1 for r in rows)


def test_dense_benchmark_on_an_indexs_own_vectors(tmp_path: Path, scifact_index: Path) -> None:
    args = ("--index", scifact_index, "--real", "--queries", "20", "--types", "flat,ivf-sq8")
    rows = bench(tmp_path, "dense", *args)["results"]
    real = [r for r in rows if r["source"] == "real"]
    assert {r["type"] for r in real} == {"flat", "ivf-sq8"}
    # Every SciFact chunk but the 20 held out as queries is searched.
    assert real[0]["vectors"] > 5183
    assert next(r for r in real if r["type"] == "flat")["recall@10"] == 1.0
    assert all(0 < r["recall@10"] <= 1 for r in real)
    # Beside synthetic vectors of the same count, around the same centres.
    synthetic = [r for r in rows if r["source"] == "synthetic"]
    assert [r["vectors"] for r in synthetic] == [real[0]["vectors"]] * 2


def test_http_memory_and_scaling_benchmarks_share_one_synthetic_index(tmp_path: Path) -> None:
    work = tmp_path / "work"
    http = bench(
        tmp_path, "http", "--sizes", "1000", "--queries", "16", "--clients", "1,4", "--work", work
    )["results"]
    served = [r for r in http if r["path"] == "http"]
    assert [r["clients"] for r in served] == [1, 4]
    assert all(r["p50_ms"] > 0 and r["peak_rss_mib"] > 0 for r in served)
    assert any(r["path"] == "in-process" for r in http)
    memory = bench(tmp_path, "memory", "--sizes", "1000", "--queries", "8", "--work", work)
    row = memory["results"][0]
    assert row["chunks"] == 1000 and row["build_peak_rss_mib"] > 0 and row["index_mib"] > 0
    results = tmp_path / "results"
    results.mkdir()
    for name in ("http", "memory"):
        (tmp_path / f"{name}.json").rename(results / f"{name}.json")
    scaling = bench(tmp_path, "scaling", "--results", results)["results"]
    assert scaling[0]["chunks"] == 1000 and scaling[0]["search_p50_ms"] > 0
    assert (results / "scaling.png").stat().st_size > 1000


def test_ingest_benchmark_compares_backends_on_text_and_pdfs(tmp_path: Path) -> None:
    scifact = need(DATASETS / "beir-scifact")
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    shutil.copy(need(PDFS / "debian" / "sample-sigconf.pdf"), pdfs)
    figures = bench(
        tmp_path,
        "ingest",
        "--dataset",
        scifact,
        "--limit",
        "20",
        "--pdfs",
        need(PDFS / "debian"),
        "--backends",
        "torch,onnx-int8",
    )
    ingest = figures["results"]["ingest"]
    assert {(r["corpus"], r["backend"]) for r in ingest} == {
        (c, b) for c in ("scifact-20", "pdfs") for b in ("torch", "onnx-int8")
    }
    assert all(r["chunks"] > 0 and r["chunks_per_s"] > 0 for r in ingest)
    embedding = {r["backend"]: r for r in figures["results"]["embedding"]}
    assert embedding["torch"]["cosine_mean"] == pytest.approx(1.0, abs=1e-5)
    assert embedding["onnx-int8"]["cosine_mean"] > 0.98
    for row in embedding.values():  # a rate below the machine's peak, measured in the run
        assert row["gops"] > 0 and 0 < row["peak_share"] < 1
        assert row["peak_kind"] == ("int8" if row["backend"] == "onnx-int8" else "fp32")
    assert embedding["onnx-int8"]["peak_gops"] > embedding["onnx-int8"]["fp32_peak_gops"]


def test_answer_benchmark_varies_one_factor_at_a_time(tmp_path: Path) -> None:
    squad = need(DATASETS / "squad-v1.1-dev")
    rows = bench(
        tmp_path,
        "answer",
        "--dataset",
        squad,
        "--questions",
        "2",
        "--docs",
        "20",
        "--passages",
        "2",
    )["results"]
    raw, *answers = rows
    assert raw["generator"] == "llama.cpp raw"
    assert raw["prompt_tok_s"] > raw["gen_tok_s"] > 0  # reading beats writing, per token
    chars = AnswerSettings().evidence_chars
    configs = {(r["generator"], r["passages"], r["evidence_chars"]) for r in answers}
    assert configs == {
        ("local", 4, chars),
        ("local", 4, 0),
        ("local", 2, chars),
        ("extractive", 4, chars),
    }
    local = {(r["passages"], r["evidence_chars"]): r for r in answers if r["generator"] == "local"}
    assert local[4, chars]["prompt_tokens"] < local[4, 0]["prompt_tokens"]  # excerpts are shorter
    for row in answers:  # a question refused by the relevance gate is counted, not timed
        assert row["questions"] == 2
        assert (row["total_ms"] is None) == (row["gated"] == 2)
        assert row["total_ms"] is None or row["total_ms"] >= row["first_token_ms"] > 0
