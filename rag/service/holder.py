"""The live index generation, swapped without failing a request.

Requests `acquire()` the current generation and release it when done. A swap
opens the new generation completely (and checks it) before publishing it;
the old one is closed when its last request releases it. A generation that
fails to open is reported and the last good one keeps serving.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from rag.embedding import Embedder
from rag.errors import IndexNotFoundError, RagError
from rag.index.generations import current_generation, has_index
from rag.index.snapshot import ShardOpener, local_shards
from rag.retrieval.hybrid import HybridRetriever
from rag.retrieval.open import index_tuning, open_checked, open_queryable
from rag.retrieval.rerank import Reranker
from rag.settings import Settings

log = logging.getLogger("rag.service")


def check_startable(settings: Settings) -> None:
    """Refuse to start on a damaged or mismatched live generation, naming the file.

    No index at all is allowed: the service starts unready and loads the first
    generation an ingest publishes."""
    if has_index(settings.index_dir):
        open_checked(current_generation(settings.index_dir), settings).close()


@dataclass
class Live:
    retriever: HybridRetriever
    users: int = 0
    retired: bool = False

    @property
    def generation(self) -> int:
        return self.retriever.snapshot.generation


class IndexHolder:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        reranker: Reranker | None = None,
        shards: ShardOpener = local_shards,
    ):
        self._settings = settings
        self._shards = shards
        self._embedder = embedder
        self._reranker = reranker
        self._lock = threading.Lock()
        self._live: Live | None = None
        self.last_error: str | None = None

    @property
    def generation(self) -> int | None:
        live = self._live
        return live.generation if live else None

    @contextmanager
    def acquire(self) -> Iterator[Live]:
        with self._lock:
            live = self._live
            if live is None:
                raise IndexNotFoundError(
                    f"no index is loaded from {self._settings.index_dir}"
                    + (f": {self.last_error}" if self.last_error else "")
                )
            live.users += 1
        try:
            yield live
        finally:
            self._release(live)

    def _release(self, live: Live) -> None:
        with self._lock:
            live.users -= 1
            close = live.retired and live.users == 0
        if close:
            live.retriever.close()

    def reload(self) -> bool:
        """Open the generation CURRENT names if it is not the live one; True if swapped.

        A generation that fails to open or check raises, naming the file, is logged
        once, and leaves the live one serving."""
        try:
            swapped = self._reload()
        except RagError as error:
            if str(error) != self.last_error:
                log.error(
                    "index not swapped, still serving generation %s: %s", self.generation, error
                )
            self.last_error = str(error)
            raise
        self.last_error = None
        return swapped

    def _reload(self) -> bool:
        folder = current_generation(self._settings.index_dir)
        live = self._live
        tuned = index_tuning(self._settings.index_dir, self._settings)
        if live is not None and live.retriever.snapshot.folder == folder:
            if live.retriever.tuned == tuned:
                return False
            # Same open generation: only the weights change, nothing is closed.
            live.retriever = live.retriever.with_tuning(tuned)
            log.info("serving generation %d with new fusion weights %s", self.generation, tuned)
            return True
        retriever = open_queryable(
            folder, self._settings, self._embedder, self._reranker, self._shards
        )
        self._publish(Live(retriever))
        log.info("serving index generation %d from %s", retriever.snapshot.generation, folder)
        return True

    def _publish(self, new: Live) -> None:
        with self._lock:
            old, self._live = self._live, new
            close = old is not None and old.users == 0
            if old is not None:
                old.retired = True
        if close and old is not None:
            old.retriever.close()

    def try_reload(self) -> None:
        with suppress(RagError):  # logged and kept in `last_error` by reload
            self.reload()

    def close(self) -> None:
        with self._lock:
            live, self._live = self._live, None
        if live is not None:
            live.retired = True
            if live.users == 0:
                live.retriever.close()
