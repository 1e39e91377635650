"""A search over every shard of a generation, merged into one top k.

Each shard returns its own top k (filters applied inside it, before
ranking), so the merged top k by score is exactly the top k of the whole
index: any chunk in the global top k is in its shard's top k. Ties are
broken by the lower position, as BM25 and filtered dense search do within
one index (FAISS lists tied hits highest id first; they are reordered, so
ties rank alike however the index is sharded).

Shards are searched in parallel threads here (FAISS and the BM25 gathers
release the GIL); a shard may also live in another process
(`rag.distributed.serve`), behind the same `ShardSearcher` protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from rag.index.bm25 import SparseHits
from rag.index.dense import DenseHits

Ints = npt.NDArray[np.int64]
Vectors = npt.NDArray[np.float32]
H = TypeVar("H", DenseHits, SparseHits)


class ShardSearcher(Protocol):
    """One shard's searches; positions in (`allowed`, sorted) and out are the generation's."""

    @property
    def start(self) -> int: ...

    @property
    def stop(self) -> int: ...

    def dense_hits(self, query: Vectors, k: int, allowed: Ints | None) -> DenseHits: ...

    def sparse_hits(self, terms: Sequence[str], k: int, allowed: Ints | None) -> SparseHits: ...


class FanOut:
    def __init__(self, shards: Sequence[ShardSearcher]) -> None:
        self.shards = list(shards)
        self._pool = (
            ThreadPoolExecutor(len(self.shards), thread_name_prefix="shard")
            if len(self.shards) > 1
            else None
        )

    def dense(self, query: Vectors, k: int, allowed: Ints | None = None) -> DenseHits:
        parts = self._each(lambda s, a: s.dense_hits(query, k, a), allowed, DenseHits)
        return _merge(parts, k, DenseHits)

    def sparse(self, terms: Sequence[str], k: int, allowed: Ints | None = None) -> SparseHits:
        parts = self._each(lambda s, a: s.sparse_hits(terms, k, a), allowed, SparseHits)
        return _merge(parts, k, SparseHits)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _each(
        self,
        search: Callable[[ShardSearcher, Ints | None], H],
        allowed: Ints | None,
        kind: type[H],
    ) -> list[H]:
        """Each shard's hits; a shard that no allowed position falls in is not asked."""
        asked = [(s, _within(allowed, s)) for s in self.shards]
        asked = [(s, a) for s, a in asked if a is None or a.size]
        if not asked:
            return [kind(np.zeros(0, np.int64), np.zeros(0, np.float32))]
        if self._pool is None or len(asked) == 1:
            return [search(s, a) for s, a in asked]
        futures = [self._pool.submit(search, s, a) for s, a in asked]
        return [f.result() for f in futures]


def _within(allowed: Ints | None, shard: ShardSearcher) -> Ints | None:
    if allowed is None:
        return None
    low, high = np.searchsorted(allowed, [shard.start, shard.stop])
    return allowed[low:high]


def _merge(parts: list[H], k: int, kind: type[H]) -> H:
    positions = np.concatenate([p.positions for p in parts]).astype(np.int64)
    scores = np.concatenate([p.scores for p in parts]).astype(np.float32)
    order = np.lexsort((positions, -scores))[:k]
    return kind(positions[order], scores[order])
