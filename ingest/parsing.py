"""Parsing files into documents, in a separate process while the caller embeds.

Parsing (pypdf especially) is pure Python and holds the GIL; embedding runs in
onnxruntime on every core. Parsing in a worker process overlaps the two: on 2
cores the 483 pages of `../shared/pdfs` took 13 s to parse before embedding
could start, and now run beside it. Results come back in the order of the
paths given, so an ingest is deterministic whatever the timing.

A worker that dies (a parser crash, the kernel's OOM killer) fails only the
file it was parsing; a new worker takes the rest. A worker exits on its own
when the ingest process that started it is gone (killed with SIGKILL, it
cannot say so).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path

from ingest.loaders import loader_for
from rag.documents import Document
from rag.errors import LoadError
from rag.settings import IngestSettings

# Files parsed ahead of the embedder: bounds the parsed text held in memory
# while keeping the worker busy.
LOOKAHEAD = 8
log = logging.getLogger("rag.ingest")
PARENT_POLL_S = 0.5


@dataclass(frozen=True)
class Parsed:
    docs: list[Document]
    seconds: float  # parse time, spent in the worker when there is one


@dataclass(frozen=True)
class ParseFailure:
    path: str
    reason: str


Outcome = Parsed | ParseFailure


def parse_file(path: Path, settings: IngestSettings) -> Outcome:
    """One file's documents, or why it could not be read."""
    started = time.perf_counter()
    try:
        docs = list(loader_for(path).load(path, settings))
    except LoadError as exc:
        return ParseFailure(exc.path, str(exc))
    except OSError as exc:
        return ParseFailure(str(path), f"could not be read: {exc.strerror or exc}")
    return Parsed(docs, time.perf_counter() - started)


Parse = Callable[[Path, IngestSettings], Outcome]


def parse_files(
    paths: list[Path], settings: IngestSettings, workers: int, parse: Parse = parse_file
) -> Iterator[tuple[Path, Outcome]]:
    """Each path with its outcome, in order; parsed by `workers` processes ahead
    of the consumer, or here, one at a time, when `workers` is 0, when there is
    only one file (a worker costs about a second to start) or when workers cannot
    start. `parse` must be a module-level function: the workers import it by name."""
    pending = list(paths)
    while pending:
        pool = _start_pool(workers) if len(pending) > 1 else None
        if pool is None:
            for path in pending:
                yield path, parse(path, settings)
            return
        done = yield from _parse_in_pool(pool, pending, settings, parse)
        pending = pending[done:]


def _start_pool(workers: int) -> ProcessPoolExecutor | None:
    """A pool whose workers have started, or None where they cannot start: a
    script that calls the ingest without an `if __name__ == "__main__"` guard
    makes each spawned worker run the script again, and die."""
    if workers == 0:
        return None
    context = multiprocessing.get_context("spawn")  # no fork of a threaded process
    pool = ProcessPoolExecutor(
        workers, mp_context=context, initializer=_exit_with_parent, initargs=(os.getpid(),)
    )
    try:
        pool.submit(os.getpid).result()
    except BrokenProcessPool:
        log.warning("parser processes could not start; parsing in this process instead")
        pool.shutdown(wait=True, cancel_futures=True)
        return None
    return pool


def _parse_in_pool(
    pool: ProcessPoolExecutor, paths: list[Path], settings: IngestSettings, parse: Parse
) -> Generator[tuple[Path, Outcome], None, int]:
    """Parse `paths` in `pool`; returns how many were consumed (all, or up to
    and including the file whose worker died)."""
    try:
        futures: list[Future[Outcome]] = []
        for i, path in enumerate(paths):
            while len(futures) < min(i + LOOKAHEAD, len(paths)):
                futures.append(pool.submit(parse, paths[len(futures)], settings))
            try:
                outcome = futures[i].result()
            except BrokenProcessPool:  # with one worker, files are parsed in order
                yield path, ParseFailure(str(path), "the parser process died on this file")
                return i + 1
            yield path, outcome
    finally:  # also when the consumer stops early: files not started are dropped
        pool.shutdown(wait=True, cancel_futures=True)
    return len(paths)


def _exit_with_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
