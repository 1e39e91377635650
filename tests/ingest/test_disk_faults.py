"""A full disk and a read-only index folder, on real filesystems the tests mount.

A small tmpfs holds the index: sized so that the first generation fits and the
next does not, or remounted read-only (the whole folder, or a read-only bind
mount of `generations/` only, so the ingest fails after parsing and embedding,
when it creates the new generation). Root ignores permission bits, so chmod
would prove nothing; mounting needs root or CAP_SYS_ADMIN, and the tests skip
with the reason where they cannot mount.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag.embedding import Embedder
from rag.index.generations import GENERATIONS
from tests.conftest import write_facts
from tests.index_probe import probe
from tests.ingest.test_cli import ENV, RAG

pytestmark = pytest.mark.slow

# The six-document index takes about 100 KiB on tmpfs (4 KiB pages); 256 KiB
# leaves room for it and not for a second generation holding 64 KiB more text.
DISK = "256k"
BIG = ("Sediment settles in still water and slowly hardens into layered rock. " * 8 + "\n\n") * 110


def mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    if shutil.which("mount") is None:
        pytest.skip("no mount command here to make a small filesystem")
    folder.mkdir()
    made = mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {made.stderr}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-R", str(folder)], capture_output=True, check=False)


def ingest(corpus: Path, index: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAG, "ingest", str(corpus), "--index", str(index), "--no-progress"],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
        check=False,
    )


def generations(index: Path) -> list[str]:
    return sorted(p.name for p in (index / GENERATIONS).iterdir())


def test_full_disk_fails_clearly_and_keeps_the_previous_index(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    corpus = write_facts(tmp_path / "corpus")
    with tmpfs(tmp_path / "disk", DISK) as disk:
        index = disk / "index"
        assert ingest(corpus, index).returncode == 0
        before = probe(index, real_embedder)
        (corpus / "sediment.txt").write_text(BIG, encoding="utf-8")
        full = ingest(corpus, index)
        assert full.returncode == 3, full.stderr
        message = full.stderr.lower()
        assert "no space left on device" in message or "disk is full" in message, full.stderr
        assert f"cannot write {index / GENERATIONS}/000002.partial/" in full.stderr
        assert "Traceback" not in full.stderr
        assert probe(index, real_embedder) == before
        assert generations(index) == ["000001"]  # the failed generation freed its space
        grown = mount("-o", "remount,size=16m", str(disk))
        assert grown.returncode == 0, grown.stderr
        again = ingest(corpus, index)
        assert again.returncode == 0, again.stderr
        after = probe(index, real_embedder)
    assert [d[1] for d in after.documents] == sorted(
        [d[1] for d in before.documents] + [str(corpus / "sediment.txt")]
    )
    assert set(after.chunks) > set(before.chunks)


def test_read_only_index_folder_fails_clearly_and_keeps_the_previous_index(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    corpus = write_facts(tmp_path / "corpus")
    with tmpfs(tmp_path / "disk", "16m") as disk:
        index = disk / "index"
        assert ingest(corpus, index).returncode == 0
        before = probe(index, real_embedder)
        (corpus / "owls.txt").write_text("Owls hunt at night and swallow prey whole.\n")

        assert mount("-o", "remount,ro", str(disk)).returncode == 0
        refused = ingest(corpus, index)
        assert refused.returncode == 3, refused.stderr
        assert f"cannot write {index}/.lock: Read-only file system" in refused.stderr
        assert probe(index, real_embedder) == before  # a read-only index still serves
        assert mount("-o", "remount,rw", str(disk)).returncode == 0

        folder = index / GENERATIONS  # writable index folder, read-only generations
        assert mount("--bind", str(folder), str(folder)).returncode == 0
        assert mount("-o", "remount,bind,ro", str(folder)).returncode == 0
        late = ingest(corpus, index)
        assert late.returncode == 3, late.stderr
        assert f"cannot write {folder}/000002.partial: Read-only file system" in late.stderr
        assert "Traceback" not in refused.stderr + late.stderr
        assert probe(index, real_embedder) == before
        subprocess.run(["umount", str(folder)], check=True)

        again = ingest(corpus, index)
        assert again.returncode == 0, again.stderr
        assert generations(index) == ["000001", "000002"]
        after = probe(index, real_embedder)
    assert str(corpus / "owls.txt") in [d[1] for d in after.documents]
