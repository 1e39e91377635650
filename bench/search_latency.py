"""Latency of POST /v1/search per fusion mode, through real HTTP.

Starts `rag serve` on a free loopback port over an existing index, sends the
BEIR test queries one at a time (after a warm-up), and reports p50 / p95 per
mode. The same queries run in-process through `HybridRetriever` as the
baseline, so the table shows what HTTP and the service add.

    python bench/search_latency.py --index scifact-index \
        --queries ../shared/datasets/beir-scifact --n 200 --out bench-results/search.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from eval.beir import load_queries
from rag.embedding import SentenceTransformerEmbedder
from rag.index.snapshot import open_current
from rag.retrieval.fusion import FusionMode
from rag.retrieval.hybrid import HybridRetriever
from rag.settings import build_settings

MODES = [m.value for m in FusionMode]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "n": len(ms),
    }


def in_process(index: Path, questions: list[str], warmup: int) -> dict[str, dict[str, float]]:
    settings = build_settings({"index_dir": index}, use_env=False)
    snapshot = open_current(index)
    hybrid = HybridRetriever(
        snapshot,
        SentenceTransformerEmbedder(settings.embedding),
        settings.tokenizer,
        settings.retrieval,
    )
    results = {}
    for mode in MODES:
        for question in questions[:warmup]:
            hybrid.search(question, 10, FusionMode(mode))
        times = []
        for question in questions:
            started = time.perf_counter()
            hybrid.search(question, 10, FusionMode(mode))
            times.append((time.perf_counter() - started) * 1000)
        results[mode] = summary(times)
    snapshot.close()
    return results


def through_http(index: Path, questions: list[str], warmup: int) -> dict[str, dict[str, float]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    rag = str(Path(sys.executable).parent / "rag")
    server = subprocess.Popen(
        [rag, "serve", "--index", str(index), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url)
        results = {}
        with httpx.Client(base_url=url, timeout=60) as client:
            for mode in MODES:
                for question in questions[:warmup]:
                    client.post("/v1/search", json={"question": question, "mode": mode})
                times = []
                for question in questions:
                    started = time.perf_counter()
                    response = client.post("/v1/search", json={"question": question, "mode": mode})
                    times.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                results[mode] = summary(times)
        return results
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_ready(url: str, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"service at {url} did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--queries", type=Path, default=Path("../shared/datasets/beir-scifact"))
    parser.add_argument("--split", default="test")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    questions = list(load_queries(args.queries, args.split).texts.values())[: args.n]
    local = in_process(args.index, questions, args.warmup)
    http = through_http(args.index, questions, args.warmup)
    print(f"{len(questions)} queries, top_k 10, {os.cpu_count()} cores, {platform.machine()}")
    print(f"{'mode':<8} {'HTTP p50':>9} {'HTTP p95':>9} {'in-proc p50':>12} {'ratio':>6}")
    for mode in MODES:
        h, b = http[mode], local[mode]
        print(
            f"{mode:<8} {h['p50_ms']:>9.2f} {h['p95_ms']:>9.2f} {b['p50_ms']:>12.2f} "
            f"{h['p50_ms'] / b['p50_ms']:>6.2f}"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            json.dumps({"http": http, "in_process": local, "queries": len(questions)}, indent=2)
        )


if __name__ == "__main__":
    main()
