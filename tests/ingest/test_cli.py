"""The real `rag` command in real processes, with the packaged embedding model."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.index.snapshot import open_current
from rag.index.terms import TermAnalyzer
from rag.retrieval.sparse import SparseRetriever
from rag.settings import TokenizerSettings
from tests.conftest import ROOT

RAG = str(Path(sys.executable).parent / "rag")
QUERIES = [
    "how are encrypted PDFs handled",
    "reciprocal rank fusion constant",
    "what happens when an ingest is killed",
    "chunk size tokens overlap",
]
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}

pytestmark = pytest.mark.slow


def rag(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAG, *map(str, args)], capture_output=True, text=True, env=ENV, timeout=600, check=False
    )


def build_guide_pdf(target: Path) -> Path:
    spec = importlib.util.spec_from_file_location("make_pdf", ROOT / "corpora/make_pdf.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Path(module.build_pdf(ROOT / "corpora/guide", target))


@pytest.fixture(scope="module")
def guide(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("guide")
    for md in (ROOT / "corpora/guide").glob("*.md"):
        (folder / md.name).write_text(md.read_text(encoding="utf-8"), encoding="utf-8")
    build_guide_pdf(folder / "user-guide.pdf")
    return folder


def sparse_results(index: Path) -> list[list[tuple[str, float]]]:
    snapshot = open_current(index)
    try:
        retriever = SparseRetriever(snapshot, TokenizerSettings())
        results = []
        for query in QUERIES:
            hits = retriever.retrieve(query, 5)
            rows = snapshot.store.chunks_at([h.position for h in hits])
            results.append(
                [(r["chunk_id"], round(h.score, 4)) for r, h in zip(rows, hits, strict=True)]
            )
        return results
    finally:
        snapshot.close()


def chunk_ids(index: Path) -> list[tuple[str, str]]:
    snapshot = open_current(index)
    try:
        positions = range(snapshot.store.counts()["chunks"])
        return [(r["chunk_id"], r["doc_id"]) for r in snapshot.store.chunks_at(list(positions))]
    finally:
        snapshot.close()


def test_ingest_stats_list_rm_and_exit_codes(guide: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "junk.txt").write_bytes(bytes(range(256)) * 4)
    done = rag("ingest", guide, bad, "--index", index)
    assert done.returncode == 1, done.stderr
    assert "junk.txt: binary data" in done.stdout
    assert "documents added              4" in done.stdout
    stats = rag("index", "stats", "--index", index)
    assert stats.returncode == 0 and "documents        4" in stats.stdout
    listing = rag("index", "list", "--index", index).stdout.splitlines()
    assert sorted(line.split()[3] for line in listing) == sorted(p.name for p in guide.iterdir())
    doc_id = next(line.split()[0] for line in listing if "user-guide.pdf" in line)
    assert rag("index", "rm", doc_id, "--index", index).returncode == 0
    assert "user-guide.pdf" not in rag("index", "list", "--index", index).stdout
    usage = rag("ingest", guide, "--index", tmp_path / "other", "--chunk-size", "300")
    assert usage.returncode == 2 and "chunking.size=300" in usage.stderr
    mismatch = rag("ingest", guide, "--index", index, "--chunk-size", "100")
    assert mismatch.returncode == 3 and "chunking.size: the index was built with 200" in (
        mismatch.stderr
    )
    missing = rag("index", "stats", "--index", tmp_path / "nowhere")
    assert missing.returncode == 3 and "no index at" in missing.stderr
    assert "Traceback" not in usage.stderr + missing.stderr + mismatch.stderr


def test_second_concurrent_ingest_is_refused(guide: Path, tmp_path: Path) -> None:
    index = tmp_path / "index"
    with subprocess.Popen(
        [RAG, "ingest", str(guide), "--index", str(index), "-v"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env=ENV,
    ) as first:
        assert first.stderr is not None
        for line in first.stderr:
            if "phase: loading" in line:
                break
        second = rag("ingest", guide, "--index", index)
        first.communicate(timeout=600)
    assert second.returncode == 3
    assert f"another ingest (pid {first.pid})" in second.stderr
    assert first.returncode == 0


# Phase after which the kill lands, and the delay after that phase's log line.
KILL_POINTS = [
    ("scanning", 0.0),
    ("loading", 0.0),
    ("chunking", 0.0),
    ("embedding", 0.0),
    ("embedding", 0.05),
    ("embedding", 0.15),
    ("writing", 0.0),
    ("writing", 0.01),
    ("switching", 0.0),
]


def kill_during(args: list[str], phase: str, delay: float) -> int:
    """Start an ingest, SIGKILL it `delay` s after it logs `phase`; its exit status."""
    with subprocess.Popen(
        [RAG, *args, "-v"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=ENV
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if f"phase: {phase}" in line:
                time.sleep(delay)
                process.send_signal(signal.SIGKILL)
                break
        process.communicate(timeout=600)
    return process.returncode


def test_killed_ingest_leaves_a_usable_index_and_reruns_cleanly(
    guide: Path, tmp_path: Path
) -> None:
    index = tmp_path / "index"
    assert rag("ingest", guide, "--index", index).returncode == 0
    before = sparse_results(index)
    (guide / "extra.md").write_text("# Extra\n\nKilled ingests leave no trace behind.\n")
    (guide / "asking-questions.md").write_text(
        (guide / "asking-questions.md").read_text() + "\n\nA new closing paragraph.\n"
    )
    clean = tmp_path / "clean"
    assert rag("ingest", guide, "--index", clean).returncode == 0
    after = sparse_results(clean)
    killed = 0
    for phase, delay in KILL_POINTS:
        status = kill_during(["ingest", str(guide), "--index", str(index)], phase, delay)
        killed += status == -signal.SIGKILL
        now = sparse_results(index)  # opens and answers, whatever the kill point
        assert now in (before, after)
        if now == after:  # the switch had happened: start over from the old corpus state
            break
    assert killed >= 4  # a kill can land after a fast phase already ended
    assert rag("ingest", guide, "--index", index).returncode == 0
    assert sparse_results(index) == after
    assert chunk_ids(index) == chunk_ids(clean)
    assert not list((index / "generations").glob("*.partial"))
    TermAnalyzer(TokenizerSettings())  # analyzer settings unchanged by the runs
