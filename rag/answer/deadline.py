"""Reading a stream of answer pieces under a wall-clock deadline.

A socket timeout bounds each read, not the whole reply: a server that sends a
token every few seconds never trips it. The pieces are read on a worker thread
and handed over through a queue, so the reader gives up exactly at the
deadline, whatever the worker is blocked on; the worker stops at its next
piece or when its own read times out.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

_PIECE, _END, _ERROR = "piece", "end", "error"


def within(
    pieces: Iterator[str], seconds: float, expired: Callable[[], Exception]
) -> Iterator[str]:
    """The items of `pieces`; raises `expired()` when `seconds` pass before the last."""
    box: queue.Queue[tuple[str, Any]] = queue.Queue()
    stop = threading.Event()
    worker = threading.Thread(
        target=_drain, args=(pieces, box, stop), daemon=True, name="answer-stream"
    )
    end = time.monotonic() + seconds
    worker.start()
    try:
        while True:
            try:
                kind, value = box.get(timeout=max(0.0, end - time.monotonic()))
            except queue.Empty:
                raise expired() from None
            if kind == _END:
                return
            if kind == _ERROR:
                raise value
            yield value
    finally:
        stop.set()


def _drain(pieces: Iterator[str], box: queue.Queue[tuple[str, Any]], stop: threading.Event) -> None:
    try:
        for piece in pieces:
            if stop.is_set():
                break
            box.put((_PIECE, piece))
        box.put((_END, None))
    except Exception as exc:  # handed to the reader, which raises it
        box.put((_ERROR, exc))
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()
