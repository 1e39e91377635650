"""Index generations: build beside the current one, switch atomically.

    INDEX/CURRENT                  name of the live generation (replaced atomically)
    INDEX/.lock                    held by the one ingest allowed at a time
    INDEX/generations/000007/      a complete generation
    INDEX/generations/000008.partial   one being built; never read

A generation becomes live only after every file in it is fsynced, renamed
into place and named by CURRENT. Killing an ingest at any moment leaves
CURRENT naming the previous, complete generation (or, once the final rename
is done, the new one); a folder that cannot be written (disk full, read-only)
raises `IndexWriteError` naming the path, with CURRENT untouched.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from rag.errors import IndexLockedError, IndexNotFoundError, IndexWriteError
from rag.index.checkpoints import checkpoint

CURRENT = "CURRENT"
LOCK = ".lock"
GENERATIONS = "generations"
PARTIAL = ".partial"


def current_generation(index_dir: Path) -> Path:
    try:
        name = (index_dir / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexNotFoundError(f"no index at {index_dir}") from None
    folder = index_dir / GENERATIONS / name
    if not name.isdigit() or not folder.is_dir():
        raise IndexNotFoundError(f"{index_dir / CURRENT} names a missing generation {name!r}")
    return folder


def has_index(index_dir: Path) -> bool:
    return (index_dir / CURRENT).is_file()


@contextlib.contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Exclusive, non-blocking; the OS releases it if the process dies."""
    with _writing(index_dir):
        index_dir.mkdir(parents=True, exist_ok=True)
        handle = (index_dir / LOCK).open("a+", encoding="utf-8")
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise IndexLockedError(
                f"another ingest (pid {holder}) is writing to {index_dir}"
            ) from None
        with _writing(index_dir):
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_partial(index_dir: Path) -> tuple[int, Path]:
    """A fresh folder for the next generation; stale partial folders are removed."""
    root = index_dir / GENERATIONS
    with _writing(root):
        root.mkdir(parents=True, exist_ok=True)
        for stale in root.glob(f"*{PARTIAL}"):
            shutil.rmtree(stale, ignore_errors=True)
        numbers = [int(p.name) for p in root.iterdir() if p.name.isdigit()]
        number = max(numbers, default=0) + 1
        folder = root / f"{number:06d}{PARTIAL}"
        folder.mkdir()
    return number, folder


def publish(index_dir: Path, partial: Path) -> Path:
    """Make `partial` the live generation, durably."""
    with _writing(index_dir):
        for path in partial.rglob("*"):
            if path.is_file():
                _fsync(path)
        checkpoint("publish:fsynced")
        final = partial.with_name(partial.name.removesuffix(PARTIAL))
        partial.rename(final)
        _fsync_dir(final.parent)
        checkpoint("publish:renamed")
        tmp = index_dir / f"{CURRENT}.tmp"
        tmp.write_text(final.name + "\n", encoding="utf-8")
        _fsync(tmp)
        checkpoint("publish:current-written")
        tmp.replace(index_dir / CURRENT)
        checkpoint("publish:switched")
        _fsync_dir(index_dir)
    return final


def prune(index_dir: Path, keep: int) -> list[Path]:
    """Remove all but the newest `keep` complete generations (never the live one)."""
    live = current_generation(index_dir)
    done = sorted(p for p in (index_dir / GENERATIONS).iterdir() if p.name.isdigit())
    removed = [p for p in done[:-keep] if p != live]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


@contextlib.contextmanager
def _writing(where: Path) -> Iterator[None]:
    """OS errors while writing under `where` become `IndexWriteError` naming the path."""
    try:
        yield
    except OSError as exc:
        raise IndexWriteError(f"cannot write {exc.filename or where}: {exc.strerror}") from None


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    _fsync(path)
