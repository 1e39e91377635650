"""SIGKILL an ingest at every step, in real `rag ingest` processes.

Each kill lands either at a named checkpoint (`rag.index.checkpoints`: every
phase, every file of the new generation, every step of the switch) or after a
random delay from a seeded RNG. After each kill the live index is exactly the
previous generation (or, once the switch is done, the complete new one: equal
to a clean ingest), answers the same queries with the same chunk ids and
scores, and no process of the killed ingest survives it. After the last kill a
plain re-run finishes and equals a clean ingest of the same corpus.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from rag.embedding import Embedder
from rag.index.checkpoints import ENV
from rag.index.generations import GENERATIONS, PARTIAL
from tests.conftest import write_facts
from tests.index_probe import probe
from tests.pdfs import text_pdf

pytestmark = pytest.mark.slow

RAG = str(Path(sys.executable).parent / "rag")
MARK = "RAG_FAULT_TEST_RUN"  # finds every process a killed ingest started

# Where each deterministic kill lands, in pipeline order, and which generation
# must be live afterwards. The changed corpus has 5 files to parse: `loading`
# is marked before the first and after each file, `chunking` once per file.
CHECKPOINTS = [
    ("phase:scanning", "old"),
    ("phase:loading@1", "old"),  # before the first file is parsed
    ("phase:loading@3", "old"),  # two files parsed, three to go
    ("phase:loading@5", "old"),
    ("phase:chunking@1", "old"),
    ("phase:embedding", "old"),
    ("phase:writing", "old"),
    ("write:store.sqlite", "old"),
    ("write:embeddings.npy", "old"),  # the store is written
    ("write:bm25", "old"),
    ("write:dense.faiss", "old"),
    ("write:manifest.json", "old"),  # the last file of the generation
    ("phase:switching", "old"),
    ("publish:fsynced", "old"),
    ("publish:renamed", "old"),  # complete folder in place, CURRENT not yet written
    ("publish:current-written", "old"),  # CURRENT.tmp written, not yet renamed
    ("publish:switched", "new"),  # CURRENT renamed over, directory not yet fsynced
    ("phase:done", "new"),  # old generations pruned
]
# Kills after a random delay following each of these phases' log line, in turn;
# a kill that lands after the ingest finished does not count (at most TIMED_TRIES).
TIMED_PHASES = ("loading", "chunking", "embedding", "writing")
TIMED_TRIES = 8


@dataclass
class Kill:
    point: str  # the checkpoint, or "phase+delay" for a timed kill
    last_phase: str  # the last phase the process logged before it died
    live: str  # "old" or "new"


def ingest_env(marker: str, kill_at: str | None = None) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", MARK: marker}
    env.pop(ENV, None)
    if kill_at:
        env[ENV] = kill_at
    return env


def ingest_args(corpus: Path, index: Path) -> list[str]:
    return [RAG, "ingest", str(corpus), "--index", str(index), "--no-progress", "-v"]


def ingest(corpus: Path, index: Path, marker: str) -> int:
    env = ingest_env(marker)
    args = ingest_args(corpus, index)
    return subprocess.run(args, capture_output=True, env=env, timeout=300, check=False).returncode


def last_phase(stderr: str) -> str:
    phases = [line.rsplit("phase: ", 1)[1] for line in stderr.splitlines() if "phase: " in line]
    return phases[-1] if phases else "(none)"


def kill_at_checkpoint(corpus: Path, index: Path, point: str, marker: str) -> str:
    done = subprocess.run(
        ingest_args(corpus, index),
        capture_output=True,
        text=True,
        env=ingest_env(marker, point),
        timeout=300,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, f"{point} never reached: {done.stderr[-2000:]}"
    return last_phase(done.stderr)


def kill_after_delay(
    corpus: Path, index: Path, phase: str, delay: float, marker: str
) -> str | None:
    """SIGKILL `delay` s after the ingest logs `phase`; the phase it died in, or
    None when it finished first."""
    with subprocess.Popen(
        ingest_args(corpus, index),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=ingest_env(marker),
    ) as process:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:
            seen.append(line)
            if f"phase: {phase}" in line:
                time.sleep(delay)
                process.kill()
                break
        rest = process.communicate(timeout=300)[1]
    if process.returncode != -signal.SIGKILL:
        return None
    return last_phase("".join(seen) + rest)


def survivors(marker: str, wait_s: float = 5.0) -> list[int]:
    """Processes still carrying the run's marker after up to `wait_s` seconds
    (the parse worker polls for its parent every 0.5 s)."""
    deadline = time.monotonic() + wait_s
    while True:
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                environ = (proc / "environ").read_bytes()
            except OSError:
                continue
            if f"{MARK}={marker}".encode() in environ.split(b"\0"):
                found.append(int(proc.name))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def change_corpus(corpus: Path) -> None:
    """Three files edited, two added (one a PDF): five files to parse."""
    for name, extra in (
        ("bees.txt", "Worker bees build wax combs of hexagonal cells."),
        ("tides.txt", "Neap tides happen when the Sun and Moon pull at right angles."),
        ("volcanoes.md", "\n## Ash\n\nVolcanic ash can ground aircraft for days."),
    ):
        path = corpus / name
        path.write_text(path.read_text(encoding="utf-8") + "\n" + extra + "\n", encoding="utf-8")
    (corpus / "owls.txt").write_text("Owls hunt at night and swallow small prey whole.\n")
    text_pdf(
        corpus / "rivers.pdf",
        [
            "Rivers erode their banks on the outside of each bend.",
            "A delta forms where a river deposits sediment at its mouth.",
        ],
        title="Rivers",
    )


def generations_on_disk(index: Path) -> list[str]:
    return sorted(p.name for p in (index / GENERATIONS).iterdir())


def test_sigkill_at_every_step_leaves_the_old_or_the_complete_new_index(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    corpus, index, pristine, clean = (tmp_path / n for n in ("corpus", "index", "v1", "clean"))
    marker = uuid.uuid4().hex
    write_facts(corpus)
    assert ingest(corpus, index, marker) == 0
    shutil.copytree(index, pristine)
    old = probe(index, real_embedder)
    change_corpus(corpus)
    assert ingest(corpus, clean, marker) == 0
    new = probe(clean, real_embedder)
    assert new.documents != old.documents and new.rankings != old.rankings

    kills: list[Kill] = []

    def check(point: str, died_in: str, expect: str | None) -> None:
        now = probe(index, real_embedder)  # opens and answers, whatever the kill point
        live = "old" if now == old else "new" if now == new else "neither"
        assert live == (expect or live) and live != "neither", (point, died_in, live)
        assert survivors(marker) == [], f"processes outlived the ingest killed at {point}"
        kills.append(Kill(point, died_in, live))
        if live == "new":  # start the next kill from the old generation again
            shutil.rmtree(index)
            shutil.copytree(pristine, index)

    for point, expect in CHECKPOINTS:
        check(point, kill_at_checkpoint(corpus, index, point, marker), expect)
    rng = random.Random(20240607)
    finished = 0
    for _ in range(TIMED_TRIES):
        timed = len(kills) - len(CHECKPOINTS)
        if timed == len(TIMED_PHASES):
            break
        phase, delay = TIMED_PHASES[timed], round(rng.uniform(0.0, 0.15), 3)
        died_in = kill_after_delay(corpus, index, phase, delay, marker)
        if died_in is None:  # it finished before the kill landed
            finished += 1
            assert probe(index, real_embedder) == new
            shutil.rmtree(index)
            shutil.copytree(pristine, index)
            continue
        check(f"{phase}+{delay}s", died_in, None)

    assert ingest(corpus, index, marker) == 0
    assert probe(index, real_embedder) == new
    assert not [name for name in generations_on_disk(index) if name.endswith(PARTIAL)]
    assert len(kills) >= 20
    summary = ", ".join(f"{k.point} (in {k.last_phase}, {k.live} live)" for k in kills)
    print(f"\n{len(kills)} kills, {finished} timed runs finished first: {summary}")


def test_a_checkpoint_kills_at_its_named_occurrence_only() -> None:
    code = (
        "from rag.index.checkpoints import checkpoint\n"
        "for i in range(1, 4):\n"
        "    checkpoint('other'); checkpoint('step'); print(i, flush=True)\n"
    )

    def run(kill_at: str | None) -> subprocess.CompletedProcess[str]:
        env = ingest_env("unit", kill_at)
        args = [sys.executable, "-c", code]
        return subprocess.run(args, capture_output=True, text=True, env=env, check=False)

    killed = run("step@3")
    assert killed.returncode == -signal.SIGKILL and killed.stdout.split() == ["1", "2"]
    unset = run(None)
    assert unset.returncode == 0 and unset.stdout.split() == ["1", "2", "3"]
