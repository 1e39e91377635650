"""RAPTOR summaries found by a search hand on the chunks below them.

A summary is written by the LLM, so it is never evidence: where one ranks,
the results get instead the chunks below it (`retrieval.summary_leaves` of
them, the nearest to the query, those not already ranked above), each
marked with the summary that brought it. Answers then cite only original
text, with its pages and spans.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rag.index.store import Store
from rag.raptor_marks import PREFIX, leaves_of

Vectors = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SummaryLeaves:
    """Each summary chunk's position, with the positions of the chunks below it."""

    leaves: dict[int, tuple[int, ...]]

    @classmethod
    def of(cls, store: Store) -> SummaryLeaves:
        rows = store.summary_chunks(PREFIX)
        wanted = sorted({c for _, meta in rows for c in leaves_of(meta)})
        where = store.positions_of(wanted) if wanted else {}
        return cls({pos: tuple(where[c] for c in leaves_of(m) if c in where) for pos, m in rows})

    def __bool__(self) -> bool:
        return bool(self.leaves)


@dataclass(frozen=True)
class Ranked:
    position: int
    source: int  # the index in the hits of the hit it comes from: itself, or its summary
    via: int | None = None  # the summary's position, for a chunk it handed on


def expand(
    positions: Sequence[int],
    tree: SummaryLeaves,
    closeness: Callable[[Sequence[int]], Sequence[float]] | None,
    per_hit: int,
    allowed: set[int] | None,
) -> list[Ranked]:
    """The ranked `positions` with each summary replaced by the chunks below it
    (see the module's docstring). `closeness` scores chunk positions against
    the query (None: keep their order in `positions`, then the tree's)."""
    ranked = {p: i for i, p in reversed(list(enumerate(positions)))}
    seen: set[int] = set()
    out: list[Ranked] = []
    for i, position in enumerate(positions):
        below = tree.leaves.get(position)
        if below is None:
            if position not in seen:
                seen.add(position)
                out.append(Ranked(position, i))
            continue
        fresh = [p for p in below if p not in seen and (allowed is None or p in allowed)]
        for leaf in _nearest(fresh, ranked, closeness)[:per_hit]:
            seen.add(leaf)
            out.append(Ranked(leaf, i, position))
    return out


def _nearest(
    positions: list[int],
    ranked: dict[int, int],
    closeness: Callable[[Sequence[int]], Sequence[float]] | None,
) -> list[int]:
    if not positions:
        return []
    if closeness is not None:
        scores = closeness(positions)
        order = sorted(range(len(positions)), key=lambda i: -scores[i])
        return [positions[i] for i in order]
    rest = len(ranked)
    return sorted(positions, key=lambda p: ranked.get(p, rest))


def dot_closeness(vector: Vectors, embeddings: Vectors) -> Callable[[Sequence[int]], list[float]]:
    """Closeness of chunk positions to the query `vector`: their vectors' dot product."""

    def score(positions: Sequence[int]) -> list[float]:
        rows = np.asarray(embeddings[list(positions)], dtype=np.float32)
        return [float(x) for x in rows @ vector.reshape(-1)]

    return score
