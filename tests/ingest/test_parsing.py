"""Parsing in a worker process beside the embedding: same outcomes as parsing
here, in order; a dying worker fails only its file; workers never outlive a
killed ingest; and the index is the same either way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ingest.parsing import Outcome, Parsed, ParseFailure, parse_file, parse_files
from ingest.run import Options, run_ingest
from rag.embedding import Embedder
from rag.index.snapshot import open_current
from rag.settings import IngestSettings, build_settings
from tests.conftest import ROOT, write_facts
from tests.pdfs import text_pdf

CRASH = "crash-here.txt"


def crash_on_marked_file(path: Path, settings: IngestSettings) -> Outcome:
    """A parser that dies like a segfaulting C extension on one file."""
    if path.name == CRASH:
        os._exit(3)
    return parse_file(path, settings)


def sleep_and_record_pid(path: Path, settings: IngestSettings) -> Outcome:
    """A parser stuck on its file, which says which process it runs in."""
    path.with_suffix(".pid").write_text(str(os.getpid()))
    time.sleep(120)
    return parse_file(path, settings)


def _corpus(folder: Path) -> list[Path]:
    write_facts(folder)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog")
    (folder / "empty.txt").write_bytes(b"")
    return sorted(p for p in folder.iterdir() if p.is_file())


def _summary(outcomes: list[tuple[Path, Outcome]]) -> list[tuple[str, object]]:
    return [
        (p.name, o.reason if isinstance(o, ParseFailure) else [d.text for d in o.docs])
        for p, o in outcomes
    ]


def test_worker_gives_the_same_outcomes_in_order(tmp_path: Path) -> None:
    paths = _corpus(tmp_path)
    settings = IngestSettings()
    here = list(parse_files(paths, settings, workers=0))
    worker = list(parse_files(paths, settings, workers=1))
    assert [p for p, _ in worker] == paths
    assert _summary(worker) == _summary(here)
    failed = {p.name for p, o in worker if isinstance(o, ParseFailure)}
    assert failed == {"broken.pdf", "empty.txt"}
    assert all(o.seconds >= 0 for _, o in worker if isinstance(o, Parsed))


def test_a_dying_worker_fails_only_its_file(tmp_path: Path) -> None:
    paths = _corpus(tmp_path)
    crash = tmp_path / CRASH
    crash.write_text("this file kills its parser")
    paths = sorted([*paths, crash])
    outcomes = dict(parse_files(paths, IngestSettings(), 1, crash_on_marked_file))
    assert list(outcomes) == paths
    failure = outcomes[crash]
    assert isinstance(failure, ParseFailure)
    assert failure.reason == "the parser process died on this file"
    after = [p for p in paths if p > crash and p.suffix in {".md", ".txt"} and p.stat().st_size]
    assert after, "some good files come after the crash"
    assert all(isinstance(outcomes[p], Parsed) for p in after)


def test_workers_exit_when_the_ingest_is_killed(tmp_path: Path) -> None:
    paths = [tmp_path / f"stuck-{i}.txt" for i in range(2)]
    for path in paths:
        path.write_text("text")
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from ingest.parsing import parse_files\n"
        "from rag.settings import IngestSettings\n"
        "from tests.ingest.test_parsing import sleep_and_record_pid\n"
        "paths = [Path(p) for p in sys.argv[1:]]\n"
        "list(parse_files(paths, IngestSettings(), 1, sleep_and_record_pid))\n"
    )
    cmd = [sys.executable, "-c", script, *map(str, paths)]
    ingest = subprocess.Popen(cmd, cwd=ROOT)
    pid_file = paths[0].with_suffix(".pid")
    deadline = time.monotonic() + 60
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    worker = int(pid_file.read_text())
    assert Path(f"/proc/{worker}").exists()
    ingest.send_signal(signal.SIGKILL)
    ingest.wait()
    deadline = time.monotonic() + 10
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the parser worker outlived the killed ingest"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_pipelined_ingest_equals_serial_ingest(tmp_path: Path, real_embedder: Embedder) -> None:
    corpus = tmp_path / "corpus"
    paths = _corpus(corpus)
    text_pdf(
        corpus / "zebras.pdf",
        ["Zebras have black and white stripes.", "Each zebra has its own stripe pattern."],
    )
    assert len(paths) > 2
    indexes = {}
    for workers in (0, 1):
        index = tmp_path / f"index-{workers}"
        settings = build_settings(
            {"index_dir": index, "ingest": {"parse_workers": workers}}, use_env=False
        )
        report = run_ingest(settings, Options([corpus]), lambda: real_embedder)
        assert sorted(Path(p).name for p, _ in report.failed) == ["broken.pdf", "empty.txt"]
        assert report.parse_seconds > 0
        indexes[workers] = index
    serial, pipelined = (open_current(indexes[w]) for w in (0, 1))
    try:
        assert list(pipelined.store.chunk_texts()) == list(serial.store.chunk_texts())
        assert [d.doc_id for d in pipelined.store.documents()] == [
            d.doc_id for d in serial.store.documents()
        ]
        np.testing.assert_allclose(pipelined.embeddings, serial.embeddings, atol=1e-6)
    finally:
        serial.close()
        pipelined.close()


def test_a_script_without_a_main_guard_still_ingests(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_facts(corpus)
    script = tmp_path / "ingest_script.py"
    script.write_text(
        "from pathlib import Path\n"
        "from ingest.run import Options, run_ingest\n"
        "from rag.embedding import make_embedder\n"
        "from rag.settings import EmbeddingSettings, build_settings\n"
        f"settings = build_settings({{'index_dir': Path({str(tmp_path / 'index')!r})}})\n"
        f"report = run_ingest(settings, Options([Path({str(corpus)!r})]),\n"
        "                    lambda: make_embedder(EmbeddingSettings()))\n"
        "print('failed', len(report.failed), 'added', report.added)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, str(script)],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert f"failed 0 added {len(list(corpus.iterdir()))}" in done.stdout
    assert "parsing in this process instead" in done.stderr
