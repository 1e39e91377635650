"""Named points of an ingest where a test can kill the process (fault injection).

Every step that writes the index calls `checkpoint(name)`: the start of each
ingest phase (`phase:scanning` ... `phase:done`), each file of a generation
(`write:store.sqlite`, `write:embeddings.npy`, `write:bm25`, `write:dense.faiss`,
`write:manifest.json`, `write:complete`) and each step of the switch
(`publish:fsynced`, `publish:renamed`, `publish:current-written`,
`publish:switched`).

For tests only: with `RAG_FAULT_KILL_AT=NAME` (or `NAME@N`, the N-th time that
point is reached, counting from 1) the process sends itself SIGKILL there, as
an out-of-memory kill or a power cut would stop it, with no clean-up. The
variable is read once, at import; unset, a checkpoint is one comparison.
With `RAG_FAULT_ONCE_DIR=DIR` as well, only the first process to get there
dies, leaving the file DIR/NAME behind: a worker that a cluster restarts
(`rag.distributed`) then passes.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

ENV = "RAG_FAULT_KILL_AT"
ONCE_ENV = "RAG_FAULT_ONCE_DIR"


def _target(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    name, _, occurrence = value.partition("@")
    return name, int(occurrence or 1)


_TARGET = _target(os.environ.get(ENV))
_ONCE = os.environ.get(ONCE_ENV)
_seen: dict[str, int] = {}


def checkpoint(name: str) -> None:
    """Die here if the fault-injection variable names this point."""
    if _TARGET is None or _TARGET[0] != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == _TARGET[1]:
        if _ONCE is not None and not _first_here(Path(_ONCE) / name.replace(":", "-")):
            return
        os.kill(os.getpid(), signal.SIGKILL)


def _first_here(marker: Path) -> bool:
    """True for the one process that creates `marker` (atomically)."""
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True
