"""Exact top-k BM25 without scoring every posting (MaxScore, Turtle & Flood 1995).

Exhaustive scoring reads every posting of every query term; on Zipfian text a
query's common terms hold most of the corpus, so at 1M chunks a query read
millions of postings. MaxScore splits the terms by their largest weight
(`term_max`): the rarest, strongest terms are *essential* and nominate the
candidates. When the other terms' largest weights sum to less than the k-th
best candidate score (counting essential terms only, a lower bound), no
other document can enter the top k: the other terms are then looked up for
the candidates alone (binary search in their doc-sorted postings), and the
result is exactly the exhaustive one. Otherwise one more term becomes
essential; past a posting budget it returns None and the caller scores
exhaustively.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Postings = npt.NDArray[np.int32]
Weights = npt.NDArray[np.float32]


def maxscore_top_k(
    rows: Sequence[int],
    k: int,
    term_ptr: Ints,
    postings: Postings,
    weights: Weights,
    term_max: Weights,
    budget: int,
) -> tuple[Ints, npt.NDArray[np.float64]] | None:
    """Positions and scores of the top `k` documents (unordered), or None when
    the essential postings would exceed `budget`."""
    counted = Counter(rows)
    terms = sorted(counted, key=lambda r: -float(term_max[r]) * counted[r])
    bounds = [float(term_max[r]) * counted[r] for r in terms]
    size = 0
    for n_essential in range(1, len(terms) + 1):
        size += int(term_ptr[terms[n_essential - 1] + 1] - term_ptr[terms[n_essential - 1]])
        if size > budget:
            return None
        rest = sum(bounds[n_essential:])
        if n_essential < len(terms) and rest == 0:
            continue
        cand, score = _essential_scores(terms[:n_essential], counted, term_ptr, postings, weights)
        # Scores from the essential terms alone are lower bounds of the full scores,
        # so their k-th best bounds the final k-th best from below.
        if n_essential == len(terms) or (len(cand) >= k and rest < _kth(score, k)):
            return _complete(
                cand,
                score,
                terms[n_essential:],
                bounds[n_essential:],
                k,
                counted,
                term_ptr,
                postings,
                weights,
            )
    return None


def _complete(
    cand: Ints,
    score: npt.NDArray[np.float64],
    terms: list[int],
    bounds: list[float],
    k: int,
    counted: Counter[int],
    term_ptr: Ints,
    postings: Postings,
    weights: Weights,
) -> tuple[Ints, npt.NDArray[np.float64]]:
    """Add the non-essential terms' weights, first dropping every candidate whose
    score plus what the remaining terms can add falls below the k-th best."""
    for i, row in enumerate(terms):
        rest = sum(bounds[i:])
        if len(cand) > k:
            alive = score + rest >= _kth(score, k)
            cand, score = cand[alive], score[alive]
        _add_lookups(cand, score, row, counted[row], term_ptr, postings, weights)
    return cand, score


def _essential_scores(
    essential: list[int],
    counted: Counter[int],
    term_ptr: Ints,
    postings: Postings,
    weights: Weights,
) -> tuple[Ints, npt.NDArray[np.float64]]:
    spans = [slice(term_ptr[r], term_ptr[r + 1]) for r in essential]
    docs = np.concatenate([postings[s] for s in spans])
    gains = np.concatenate(
        [weights[s].astype(np.float64) * counted[r] for r, s in zip(essential, spans, strict=True)]
    )
    # Each term's postings are sorted: a stable sort of their concatenation is a
    # merge of sorted runs (timsort), far cheaper than np.unique's quicksort.
    order = np.argsort(docs, kind="stable")
    docs, gains = docs[order], gains[order]
    starts = np.flatnonzero(np.r_[True, docs[1:] != docs[:-1]])
    return docs[starts].astype(np.int64), np.add.reduceat(gains, starts)


def _add_lookups(
    cand: Ints,
    score: npt.NDArray[np.float64],
    row: int,
    times: int,
    term_ptr: Ints,
    postings: Postings,
    weights: Weights,
) -> None:
    start, stop = int(term_ptr[row]), int(term_ptr[row + 1])
    docs = postings[start:stop]
    at = np.searchsorted(docs, cand)
    inside = at < len(docs)
    hit = np.zeros(len(cand), dtype=bool)
    hit[inside] = docs[at[inside]] == cand[inside]
    score[hit] += weights[start + at[hit]].astype(np.float64) * times


def _kth(score: npt.NDArray[np.float64], k: int) -> float:
    return float(np.partition(score, len(score) - k)[len(score) - k])
