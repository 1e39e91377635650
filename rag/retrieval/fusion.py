"""Fusing rankings from several retrievers: pure functions over plain data.

Reciprocal rank fusion (Cormack, Clarke & Büttcher 2009):

    score(d) = sum over rankings r of  weight_r / (k + rank_r(d))

with 1-based ranks and k = 60 as in the paper. (Haystack's 61 on 0-based
ranks is the same thing; libraries that drift to other constants are not.)
A document absent from a ranking contributes nothing for it; a document
listed twice in one ranking counts once, at its best rank.

Min-max fusion rescales each ranking's scores to [0, 1] (the best 1, the
worst 0; a ranking whose scores are all equal gives them all 1) and sums the
weighted values, absent documents counting 0.

Ties are broken by the best rank reached in any ranking, then by the order of
the rankings as given, so the result is deterministic.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from rag.errors import ConfigError

K = TypeVar("K", bound=Hashable)
RRF_K = 60


@dataclass(frozen=True)
class Fused(Generic[K]):
    key: K
    score: float


def _first_ranks(ranking: Sequence[K]) -> dict[K, int]:
    ranks: dict[K, int] = {}
    for rank, key in enumerate(ranking, start=1):
        ranks.setdefault(key, rank)
    return ranks


def _weights(n: int, weights: Sequence[float] | None) -> Sequence[float]:
    if weights is None:
        return [1.0] * n
    if len(weights) != n or any(w < 0 for w in weights):
        raise ConfigError(f"need {n} non-negative weights, got {list(weights)}")
    return weights


def _order(scores: dict[K, float], rank_lists: list[dict[K, int]]) -> list[Fused[K]]:
    """Best score first; ties go to the better best rank, then the earlier list."""
    best: dict[K, tuple[int, int]] = {}
    for i, ranks in enumerate(rank_lists):
        for key, rank in ranks.items():
            if key not in best or (rank, i) < best[key]:
                best[key] = (rank, i)
    ordered = sorted(scores, key=lambda key: (-scores[key], best[key]))
    return [Fused(key, scores[key]) for key in ordered]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[K]], k: float = RRF_K, weights: Sequence[float] | None = None
) -> list[Fused[K]]:
    """RRF over ranked lists of keys, best first (1-based ranks, default k = 60)."""
    if k < 0:
        raise ConfigError(f"RRF k must be >= 0, got {k}")
    rank_lists = [_first_ranks(r) for r in rankings]
    scores: dict[K, float] = {}
    for weight, ranks in zip(_weights(len(rankings), weights), rank_lists, strict=True):
        for key, rank in ranks.items():
            scores[key] = scores.get(key, 0.0) + weight / (k + rank)
    return _order(scores, rank_lists)


def minmax_fusion(
    scored: Sequence[Sequence[tuple[K, float]]], weights: Sequence[float] | None = None
) -> list[Fused[K]]:
    """Weighted sum of per-ranking min-max normalised scores, best first."""
    rank_lists = [_first_ranks([key for key, _ in ranking]) for ranking in scored]
    totals: dict[K, float] = {}
    for weight, ranking in zip(_weights(len(scored), weights), scored, strict=True):
        for key, value in _normalised(ranking).items():
            totals[key] = totals.get(key, 0.0) + weight * value
    return _order(totals, rank_lists)


def _normalised(ranking: Sequence[tuple[K, float]]) -> dict[K, float]:
    best: dict[K, float] = {}
    for key, score in ranking:
        best[key] = max(score, best.get(key, score))
    if not best:
        return {}
    low, high = min(best.values()), max(best.values())
    span = high - low
    return {key: (s - low) / span if span > 0 else 1.0 for key, s in best.items()}
