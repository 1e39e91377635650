"""Search end to end: POST /v1/search (the default fusion mode, query embedding included)
through real HTTP, with 1 and 8 concurrent clients, at each corpus size.

The index is synthetic (`bench.synthetic_index`, built once per size under
`--work` and reused); the server is `rag serve` in its own process, so its
peak memory is the service's. The same queries run in-process through the
retriever as the baseline, so the ratio shows what HTTP and the service add.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.common import latency, rss_mib, table, timed_ms, write_results
from bench.synthetic import zipf_corpus, zipf_queries
from bench.synthetic_index import build_in_child
from rag.index import generations
from rag.modes import DEFAULT_FUSION
from rag.settings import Settings, build_settings

# Latency under concurrency, not admission control (`rag bench load --sweep` measures
# that): the search queue is long enough that no request of this run is shed.
UNSHED = {"RAG_SERVICE__SEARCH_QUEUE": "1000"}


def run(
    sizes: list[int], n_queries: int, clients: list[int], work: Path, out: Path | None
) -> list[dict[str, Any]]:
    rows = []
    for size in sizes:
        index = prepared_index(work, size)
        questions = [" ".join(q) for q in zipf_queries(zipf_corpus(size), n_queries)]
        rows += _through_http(index, size, questions, clients)
        rows.append(_in_process(index, size, questions))
    print(
        table(
            rows,
            [
                "chunks",
                "path",
                "clients",
                "p50_ms",
                "p95_ms",
                "per_s",
                "start_s",
                "rss_mib",
                "peak_rss_mib",
            ],
        )
    )
    config = {"sizes": sizes, "queries": n_queries, "clients": clients, "mode": DEFAULT_FUSION}
    write_results(out, "http", config, rows)
    return rows


def prepared_index(work: Path, size: int) -> Path:
    """The synthetic index of `size` chunks under `work`, built on first use."""
    index = work / f"synthetic-{size}"
    if not generations.has_index(index):
        work.mkdir(parents=True, exist_ok=True)
        built = build_in_child(index, size)
        print(f"built the {size}-chunk index in {built.get('build_s')} s", file=sys.stderr)
    return index


def _settings(index: Path) -> Settings:
    return build_settings({"index_dir": index}, use_env=False)


def rag_command(*args: str) -> list[str]:
    """`rag ARGS` from this interpreter's environment."""
    return [str(Path(sys.executable).parent / "rag"), *args]


def clean_env(**settings: str) -> dict[str, str]:
    """This environment without the caller's RAG_ settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return {**env, **settings}


@contextmanager
def serving(
    index: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`rag serve` on a free loopback port in its own process, once ready: its URL and process."""
    port = _free_port()
    with log.open("w") as stderr:
        server = subprocess.Popen(
            rag_command("serve", "--index", str(index), "--port", str(port)),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env if env is not None else clean_env(),
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, server)
        yield base, server
    finally:
        server.terminate()
        server.wait(timeout=60)


def _through_http(
    index: Path, size: int, questions: list[str], clients: list[int]
) -> list[dict[str, Any]]:
    rows = []
    started = time.perf_counter()
    log = index.parent / f"{index.name}-serve.log"
    with serving(index, log, clean_env(**UNSHED)) as (base, server):
        start_s = round(time.perf_counter() - started, 1)
        for n in clients:
            ms, seconds = _load(base, questions, n)
            rows.append(
                {
                    "chunks": size,
                    "path": "http",
                    "clients": n,
                    **latency(ms),
                    "per_s": round(len(ms) / seconds, 1),
                    "start_s": start_s,
                    **rss_mib(server.pid),
                }
            )
    return rows


def _load(base: str, questions: list[str], n_clients: int) -> tuple[list[float], float]:
    def client(share: list[str]) -> list[float]:
        with httpx.Client(base_url=base, timeout=120) as http:
            post = lambda q: http.post("/v1/search", json={"question": q}).raise_for_status()  # noqa: E731
            return timed_ms(post, share, warmup=3)

    shares = [questions[i::n_clients] for i in range(n_clients)]
    started = time.perf_counter()
    with ThreadPoolExecutor(n_clients) as pool:
        results = list(pool.map(client, shares))
    return [ms for r in results for ms in r], time.perf_counter() - started


def _in_process(index: Path, size: int, questions: list[str]) -> dict[str, Any]:
    from rag.retrieval.open import open_retriever

    with open_retriever(_settings(index)) as retriever:
        ms = timed_ms(lambda q: retriever.search(q, 10, DEFAULT_FUSION), questions)
    return {"chunks": size, "path": "in-process", "clients": 1, **latency(ms)}


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"rag serve exited with {server.returncode}")
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("rag serve was not ready within 10 minutes")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
