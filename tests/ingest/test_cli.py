"""The real `rag` command in real processes, with the packaged embedding model."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

RAG = str(Path(sys.executable).parent / "rag")
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
    again = json.loads(rag("ingest", guide, "--index", index, "--json").stdout)
    assert again["added"] == 1 and again["unchanged"] == 3 and again["failed"] == []
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
