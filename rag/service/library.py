"""Every collection under the index root, each in its own `IndexHolder`.

Each collection hot-swaps on its own: one watcher thread looks for new
collections and newer generations every `service.reload_interval_s`. A
damaged collection is refused alone, by name, and the others serve. The
`default` collection always has a holder, so a service started on an empty
root becomes ready when the first ingest publishes.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from rag.embedding import Embedder
from rag.errors import CollectionNotFoundError
from rag.index.collections import DEFAULT, check_name, collection_dir, collection_names
from rag.index.snapshot import ShardOpener, local_shards
from rag.retrieval.rerank import Reranker
from rag.service.auth import Principal
from rag.service.holder import IndexHolder
from rag.settings import Settings

log = logging.getLogger("rag.service")


def missing() -> CollectionNotFoundError:
    """The one error for a collection that does not exist or that the key may
    not read; it does not repeat the name, so it tells nothing either way."""
    return CollectionNotFoundError(
        "no such collection", "GET /v1/collections lists those this key may read"
    )


@dataclass(frozen=True)
class Collection:
    """One collection as a request sees it: its name, live index and settings
    (whose `index_dir` is the collection's folder)."""

    name: str
    holder: IndexHolder
    settings: Settings


class Library:
    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        reranker: Reranker | None = None,
        shards: ShardOpener = local_shards,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._reranker = reranker
        self._shards = shards
        self._lock = threading.Lock()
        self._open: dict[str, Collection] = {}
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._add(DEFAULT)

    @property
    def root(self) -> Settings:
        return self._settings

    def names(self) -> list[str]:
        """Collections that exist: `default` (always) and each with a live generation."""
        with self._lock:
            return sorted(self._open, key=lambda n: (n != DEFAULT, n))

    def get(self, name: str) -> Collection:
        with self._lock:
            found = self._open.get(name)
        if found is None:
            raise missing()
        return found

    def for_reader(self, principal: Principal, name: str | None) -> Collection:
        """The collection `name` (else the key's default) if the caller may read
        it; one it may not read is missing, exactly as one that does not exist."""
        wanted = name or principal.default_collection
        if not principal.can_read(wanted):
            raise missing()
        return self.get(wanted)

    def for_writer(self, principal: Principal, name: str) -> Settings:
        """The settings to write the collection `name` with (it may be new), for
        an admin of it."""
        if not principal.can_write(check_name(name)):
            raise missing()
        return self._settings_of(name)

    def refresh(self) -> None:
        """Open collections new on disk, and newer generations of every one."""
        for name in collection_names(self._settings.index_dir):
            with self._lock:
                known = name in self._open
            if not known:
                self._add(name)
        for collection in self._all():
            collection.holder.try_reload()

    def forget(self, name: str) -> None:
        """Close a collection deleted from disk; `default` starts again empty."""
        with self._lock:
            gone = self._open.pop(name, None)
        if gone is not None:
            gone.holder.close()
        if name == DEFAULT:
            self._add(DEFAULT)

    def watch(self) -> None:
        interval = self._settings.service.reload_interval_s
        if interval <= 0:
            return
        self._watcher = threading.Thread(
            target=self._poll, args=(interval,), daemon=True, name="index-watcher"
        )
        self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
        for collection in self._all():
            collection.holder.close()

    def _poll(self, interval: float) -> None:
        while not self._stop.wait(interval):
            self.refresh()

    def _all(self) -> list[Collection]:
        with self._lock:
            return list(self._open.values())

    def _settings_of(self, name: str) -> Settings:
        folder = collection_dir(self._settings.index_dir, name)
        return self._settings.model_copy(update={"index_dir": folder})

    def _add(self, name: str) -> Collection:
        settings = self._settings_of(name)
        folder = settings.index_dir
        holder = IndexHolder(settings, self._embedder, self._reranker, self._shards)
        collection = Collection(name, holder, settings)
        with self._lock:
            collection = self._open.setdefault(name, collection)
        if name != DEFAULT:
            log.info("collection %r found at %s", name, folder)
        return collection
