"""The Ray engine on a real two-node cluster started here (a head and a worker
node, one CPU each, on this machine): its ingest writes the index a local
ingest writes, survives a worker killed mid-ingest, and publishes nothing when
the retries run out; Ray Serve answers the HTTP API as the local service does,
and follows a new generation."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from ingest.run import Options, run_ingest
from rag.embedding import Embedder
from rag.index import generations
from rag.index.shards import BM25, shard_folder
from rag.index.snapshot import Snapshot, open_current
from rag.service.app import create_app
from rag.settings import Settings, build_settings
from tests.conftest import ROOT, write_facts
from tests.distributed.ray_cluster import NETNS_ENV, loopback_cluster
from tests.service_helpers import free_port

pytest.importorskip("ray", reason="the Ray engine needs the ray extra (pip install 'rag[ray]')")
# Ray registers its nodes under the machine's own address, even when told
# 127.0.0.1; in a network namespace holding only loopback it has no other, so
# test_ray_isolated.py runs this module there.
pytestmark = pytest.mark.skipif(
    os.environ.get(NETNS_ENV) != "1",
    reason="runs in its own network namespace, from tests/distributed/test_ray_isolated.py",
)

SHARDS = 3
# One CPU per node: the embedding actors take half of each, leaving room for the
# parse and shard tasks; one file per batch spreads the files over both actors.
RAY_ENV = {
    "RAG_RAY__EMBED_CPUS": "0.5",
    "RAG_RAY__PARSE_CPUS": "0.25",
    "RAG_RAY__FILES_PER_BATCH": "1",
    "RAG_RAY__MAX_RETRIES": "2",
}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with loopback_cluster(tmp_path_factory.mktemp("ray-logs")) as address:
        yield address


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The facts (Markdown, text, a two-page PDF) and the demo user guide."""
    root = write_facts(tmp_path_factory.mktemp("ray-corpus") / "corpus")
    shutil.copytree(ROOT / "corpora/guide", root / "guide")
    return root


@pytest.fixture(scope="module")
def local_index(
    tmp_path_factory: pytest.TempPathFactory, corpus: Path, real_embedder: Embedder
) -> Path:
    index = tmp_path_factory.mktemp("ray-local") / "index"
    settings = build_settings({"index_dir": index, "ingest": {"shards": SHARDS}}, use_env=False)
    report = run_ingest(settings, Options([corpus]), lambda: real_embedder)
    # The facts and the guide (with its PDF once `corpora/make_pdf.py` has run).
    files = sum(1 for path in corpus.rglob("*") if path.is_file())
    assert report.added == files > 8 and not report.failed
    return index


def rag_ingest(
    address: str, corpus: Path, index: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "rag.cli.main", "ingest", str(corpus), "--index", str(index)]
    command += ["--engine", "ray", "--address", address, "--shards", str(SHARDS), "--no-progress"]
    return subprocess.run(
        command,
        env=os.environ | RAY_ENV | env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def assert_same_index(ray_index: Path, local_index: Path) -> None:
    """Chunk ids, texts and every stored row; vectors to float tolerance; BM25
    statistics and postings of every shard."""
    ray, local = open_current(ray_index), open_current(local_index)
    try:
        assert ray.store.documents() == local.store.documents()
        assert _chunks(ray) == _chunks(local) and len(_chunks(ray)) > 20
        np.testing.assert_allclose(ray.embeddings, local.embeddings, atol=1e-5)
        assert ray.manifest.shard_bounds == local.manifest.shard_bounds
        assert ray.manifest.data["counts"] == local.manifest.data["counts"]
        for shard in range(SHARDS):
            ours, theirs = (shard_folder(s.folder, shard, SHARDS) / BM25 for s in (ray, local))
            for name in ("vocab.json", "params.json"):
                assert (ours / name).read_text() == (theirs / name).read_text()
            for name in ("term_ptr.npy", "postings.npy"):
                assert np.array_equal(np.load(ours / name), np.load(theirs / name)), name
            np.testing.assert_allclose(
                np.load(ours / "weights.npy"), np.load(theirs / "weights.npy")
            )
    finally:
        ray.close()
        local.close()


def _chunks(snapshot: Snapshot) -> list[dict[str, object]]:
    return [snapshot.store.chunks_at([pos])[0] for pos in range(snapshot.store.counts()["chunks"])]


def _generations(index: Path) -> list[str]:
    return sorted(p.name for p in (index / generations.GENERATIONS).iterdir())


def test_ray_ingest_equals_a_local_ingest(
    cluster: str, corpus: Path, local_index: Path, tmp_path: Path
) -> None:
    done = rag_ingest(cluster, corpus, tmp_path / "index")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert_same_index(tmp_path / "index", local_index)
    assert _generations(tmp_path / "index") == ["000001"]


def test_a_worker_killed_mid_ingest_is_retried(
    cluster: str, corpus: Path, local_index: Path, tmp_path: Path
) -> None:
    """The first embedding actor to take a batch is SIGKILLed there; Ray restarts
    it and retries the batch, and the one switch publishes the whole index."""
    marks = tmp_path / "faults"
    marks.mkdir()
    done = rag_ingest(
        cluster,
        corpus,
        tmp_path / "index",
        RAG_FAULT_KILL_AT="ray:embed",
        RAG_FAULT_ONCE_DIR=str(marks),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (marks / "ray-embed").exists()  # a worker did die there
    assert_same_index(tmp_path / "index", local_index)
    assert _generations(tmp_path / "index") == ["000001"]
    assert (tmp_path / "index" / generations.CURRENT).read_text().strip() == "000001"


def test_retries_run_out_and_nothing_is_published(
    cluster: str, corpus: Path, local_index: Path, tmp_path: Path
) -> None:
    """Every embedding actor dies on its first batch: after the retries the run
    fails with exit code 4, and the live index is the one before it."""
    index = tmp_path / "index"
    shutil.copytree(local_index, index)
    before = _generations(index)
    (corpus / "new.txt").write_text("Otters hold hands while they sleep.\n", encoding="utf-8")
    try:
        done = rag_ingest(
            cluster, corpus, index, RAG_FAULT_KILL_AT="ray:embed", RAG_RAY__MAX_RETRIES="1"
        )
    finally:
        (corpus / "new.txt").unlink()
    assert done.returncode == 4, done.stderr[-3000:]
    # Ray logs the dead actors' stack traces itself; the run ends on its own message.
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: the Ray cluster's work failed after its retries"), last
    assert _generations(index) == before
    assert_same_index(index, local_index)


QUESTIONS = [
    "What happens when an ingest is killed halfway?",
    "basalt lava",
    "how do insects tell each other where food is",
    "RRF constant",
]


def _searches(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    guide = [d["doc_id"] for d in docs if "/guide/" in d["source"]]
    filters: list[dict[str, Any]] = [
        {},
        {"doc_ids": guide},
        {"metadata": {"format": "pdf"}},
        {"exclude_doc_ids": guide[:1]},
    ]
    return [
        {"question": q, "top_k": 8, "mode": mode, "filters": f}
        for q in QUESTIONS
        for mode in ("rrf", "minmax", "dense", "sparse")
        for f in filters
    ]


def _without_timings(reply: httpx.Response) -> dict[str, Any]:
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    body.pop("timings_ms")
    return body


def _wait_ready(url: str, served: subprocess.Popen[bytes], generation: int) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert served.poll() is None, "rag serve --engine ray exited"
        try:
            ready = httpx.get(f"{url}/readyz", timeout=5)
            if ready.status_code == 200 and ready.json()["generation"] == generation:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    raise AssertionError(f"the Ray service did not serve generation {generation} in time")


def _local_settings(index: Path) -> Settings:
    return build_settings({"index_dir": index, "service": {"reload_interval_s": 0}}, use_env=False)


def test_ray_serve_answers_as_the_local_service(
    cluster: str, corpus: Path, local_index: Path, tmp_path: Path, real_embedder: Embedder
) -> None:
    index = tmp_path / "index"
    shutil.copytree(local_index, index)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "rag.cli.main", "serve", "--index", str(index), "--port"]
    command += [str(port), "--engine", "ray", "--address", cluster]
    env = os.environ | RAY_ENV | {"RAG_RAY__SHARD_CPUS": "0.25", "RAG_RAY__FRONT_CPUS": "0.25"}
    env |= {"RAG_SERVICE__RELOAD_INTERVAL_S": "1"}
    with (tmp_path / "serve.log").open("wb") as log:
        served = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(url, served, 1)
        with (
            httpx.Client(base_url=url, timeout=60) as ray,
            TestClient(create_app(_local_settings(index), lambda _: real_embedder)) as local,
        ):
            docs = local.get("/v1/documents").json()["documents"]
            assert ray.get("/v1/documents").json()["documents"] == docs
            compared = 0
            for body in _searches(docs):
                expected = _without_timings(local.post("/v1/search", json=body))
                assert _without_timings(ray.post("/v1/search", json=body)) == expected, body
                compared += len(expected["results"])
            assert compared > 200
            bad = ray.post("/v1/search", json={"question": "", "mode": "rrf"})
            assert bad.status_code == 422 and "question" in bad.text
        # A new generation (one more file, ingested here) reaches the front and every shard.
        (corpus / "otters.txt").write_text("Sea otters hold hands while they sleep.\n")
        try:
            settings = build_settings(
                {"index_dir": index, "ingest": {"shards": SHARDS}}, use_env=False
            )
            run_ingest(settings, Options([corpus]), lambda: real_embedder)
        finally:
            (corpus / "otters.txt").unlink()
        _wait_ready(url, served, 2)
        body = {"question": "do otters hold hands", "top_k": 3, "mode": "rrf"}
        with (
            httpx.Client(base_url=url, timeout=60) as ray,
            TestClient(create_app(_local_settings(index), lambda _: real_embedder)) as local,
        ):
            found = _without_timings(ray.post("/v1/search", json=body))
            assert found == _without_timings(local.post("/v1/search", json=body))
            assert found["generation"] == 2 and found["results"][0]["source"].endswith("otters.txt")
    finally:
        served.send_signal(signal.SIGTERM)
        served.wait(timeout=60)
    assert served.returncode == 0, (tmp_path / "serve.log").read_text()[-3000:]
