"""Retrieval metrics as pure functions over a ranking and graded relevance.

`ranking` lists document ids best first; `relevant` maps document ids to
graded relevance (> 0 means relevant). Conventions follow trec_eval / BEIR:
nDCG uses gain = relevance and discount log2(rank + 1); a query without
relevant documents scores 0 and should be left out of averages by callers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence


def dcg_at_k(gains: Sequence[float], k: int) -> float:
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))


def ndcg_at_k(ranking: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    ideal = dcg_at_k(sorted((r for r in relevant.values() if r > 0), reverse=True), k)
    if ideal == 0:
        return 0.0
    return dcg_at_k([relevant.get(doc, 0.0) for doc in _unique(ranking)], k) / ideal


def recall_at_k(ranking: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    wanted = {d for d, r in relevant.items() if r > 0}
    if not wanted:
        return 0.0
    return len(wanted.intersection(_unique(ranking)[:k])) / len(wanted)


def mrr_at_k(ranking: Sequence[str], relevant: Mapping[str, float], k: int) -> float:
    for rank, doc in enumerate(_unique(ranking)[:k], start=1):
        if relevant.get(doc, 0.0) > 0:
            return 1.0 / rank
    return 0.0


def _unique(ranking: Sequence[str]) -> list[str]:
    """First occurrence of each id: a document counts once, at its best rank."""
    return list(dict.fromkeys(ranking))
