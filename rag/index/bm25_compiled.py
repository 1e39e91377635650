"""BM25's top k in compiled loops, with numba: MaxScore, and exhaustive scoring.

The numpy MaxScore spends most of a query in per-call overhead on small
arrays: at 100k chunks, of about 400 µs, 117 µs went to scoring the
essential terms again from scratch each time a term became essential, and
141 µs to looking up the other terms, about 25 µs a term for some 90
candidates. Here a query is one call: each new essential term is merged
into the sorted candidates (two pointers), the k-th best is found in place,
and the other terms are looked up by binary search per candidate. The
decisions, the order of the additions and so the scores are the numpy
version's, which stays as the reference the tests compare against (and as
the fallback where numba cannot be imported).

Where MaxScore would read too many postings, every posting is scored into
one array of document totals in a compiled loop (numpy's bincount over a
concatenation of the postings took 880 µs at 100k chunks).

`cache=True` keeps the machine code beside this file (or in numba's cache
folder), so only the first query on a machine compiles (about a second).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def maxscore_top_k(
    rows: Sequence[int],
    k: int,
    term_ptr: Ints,
    postings: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float32],
    term_max: npt.NDArray[np.float32],
    budget: int,
) -> tuple[Ints, Floats] | None:
    """As `rag.index.bm25_maxscore.maxscore_top_k`: the top `k` positions and
    scores (unordered, possibly more than `k`), or None past `budget`."""
    terms, times, bounds = _by_bound(np.array(rows, dtype=np.int64), term_max)
    cand, score, ok = _maxscore(
        terms, times, bounds, k, term_ptr, np.asarray(postings), np.asarray(weights), budget
    )
    return (cand, score) if ok else None


def top_k(
    rows: Sequence[int],
    k: int,
    term_ptr: Ints,
    postings: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float32],
    term_max: npt.NDArray[np.float32],
    n_docs: int,
    budget: int,
    exhaustive_up_to: int,
) -> tuple[Ints, npt.NDArray[np.float32]]:
    """`BM25Index.search`'s top `k` (unordered, ties at the k-th included) in one
    compiled call: every posting scored when the query's terms have at most
    `exhaustive_up_to` postings, else MaxScore, else (past `budget`) every posting."""
    return _top_k(
        np.array(rows, dtype=np.int64),
        k,
        term_ptr,
        np.asarray(postings),
        np.asarray(weights),
        term_max,
        n_docs,
        budget,
        exhaustive_up_to,
    )


@numba.njit(cache=True, nogil=True)
def _top_k(
    rows: Ints,
    k: int,
    term_ptr: Ints,
    postings: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float32],
    term_max: npt.NDArray[np.float32],
    n_docs: int,
    budget: int,
    exhaustive_up_to: int,
) -> tuple[Ints, npt.NDArray[np.float32]]:  # pragma: no cover - compiled
    size = 0
    for r in rows:
        size += term_ptr[r + 1] - term_ptr[r]
    if size > exhaustive_up_to:
        terms, times, bounds = _by_bound(rows, term_max)
        cand, score, ok = _maxscore(terms, times, bounds, k, term_ptr, postings, weights, budget)
        if ok:
            return cand, score.astype(np.float32)
    return _exhaustive(rows, k, term_ptr, postings, weights, n_docs)


@numba.njit(cache=True, nogil=True)
def _by_bound(
    rows: Ints, term_max: npt.NDArray[np.float32]
) -> tuple[Ints, Floats, Floats]:  # pragma: no cover - compiled
    """The distinct rows (a repeated query term counts its times), by their
    largest possible weight, highest first, ties in order of first appearance,
    as the numpy version's `sorted(Counter(rows), ...)`."""
    terms = np.empty(len(rows), dtype=np.int64)
    times = np.zeros(len(rows), dtype=np.float64)
    n = 0
    for r in rows:
        for j in range(n):
            if terms[j] == r:
                times[j] += 1
                break
        else:
            terms[n], times[n] = r, 1
            n += 1
    terms, times = terms[:n], times[:n]
    bounds = np.empty(n, dtype=np.float64)
    for j in range(n):
        bounds[j] = np.float64(term_max[terms[j]]) * times[j]
    order = np.argsort(-bounds, kind="mergesort")
    return terms[order], times[order], bounds[order]


@numba.njit(cache=True, nogil=True)
def _exhaustive(
    rows: Ints,
    k: int,
    term_ptr: Ints,
    postings: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float32],
    n_docs: int,
) -> tuple[Ints, npt.NDArray[np.float32]]:  # pragma: no cover - compiled
    total = np.zeros(n_docs, dtype=np.float64)
    for r in rows:
        for i in range(term_ptr[r], term_ptr[r + 1]):
            total[postings[i]] += np.float64(weights[i])
    # One pass keeps the k best float32 scores in a min-heap, a second takes
    # every document at or above the k-th (ties included, as `_best` expects).
    heap = np.empty(k, dtype=np.float64)
    filled = 0
    for d in range(n_docs):
        value = np.float64(np.float32(total[d]))
        if value <= 0:
            continue
        if filled < k:
            heap[filled] = value
            filled += 1
            if filled == k:
                for i in range(k // 2 - 1, -1, -1):
                    _sift_down(heap, i)
        elif value > heap[0]:
            heap[0] = value
            _sift_down(heap, 0)
    floor = heap[0] if filled == k else 0.0
    count = 0
    for d in range(n_docs):
        value = np.float64(np.float32(total[d]))
        if value > 0 and value >= floor:
            count += 1
    positions = np.empty(count, dtype=np.int64)
    scores = np.empty(count, dtype=np.float32)
    j = 0
    for d in range(n_docs):
        single = np.float32(total[d])
        if single > 0 and single >= floor:
            positions[j], scores[j] = d, single
            j += 1
    return positions, scores


@numba.njit(cache=True, nogil=True)
def _maxscore(
    terms: Ints,
    times: Floats,
    bounds: Floats,
    k: int,
    term_ptr: Ints,
    postings: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float32],
    budget: int,
) -> tuple[Ints, Floats, bool]:  # pragma: no cover - compiled; tested through the wrapper
    n_terms = len(terms)
    cand = np.empty(0, dtype=np.int64)
    score = np.empty(0, dtype=np.float64)
    size = 0
    essential = 0
    for i in range(n_terms):
        start, stop = term_ptr[terms[i]], term_ptr[terms[i] + 1]
        size += stop - start
        if size > budget:
            return cand, score, False
        cand, score = _merge(cand, score, postings[start:stop], weights[start:stop], times[i])
        essential = i + 1
        rest = _rest(bounds, essential)
        if essential < n_terms and rest == 0:
            continue
        if essential == n_terms or _at_least(score, rest, k):
            break
    for j in range(essential, n_terms):
        if len(cand) > k:
            alive = score + _rest(bounds, j) >= _kth(score, k)
            cand, score = cand[alive], score[alive]
        start, stop = term_ptr[terms[j]], term_ptr[terms[j] + 1]
        _add_lookups(cand, score, postings[start:stop], weights[start:stop], times[j])
    return cand, score, True


@numba.njit(cache=True, nogil=True)
def _merge(
    cand: Ints,
    score: Floats,
    docs: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float32],
    times: float,
) -> tuple[Ints, Floats]:  # pragma: no cover - compiled
    """The sorted candidates with one term's sorted postings added in."""
    n, m = len(cand), len(docs)
    out = np.empty(n + m, dtype=np.int64)
    out_score = np.empty(n + m, dtype=np.float64)
    i = j = o = 0
    while i < n and j < m:
        if cand[i] < docs[j]:
            out[o], out_score[o] = cand[i], score[i]
            i += 1
        elif cand[i] > docs[j]:
            out[o], out_score[o] = docs[j], np.float64(weights[j]) * times
            j += 1
        else:
            out[o], out_score[o] = cand[i], score[i] + np.float64(weights[j]) * times
            i += 1
            j += 1
        o += 1
    while i < n:
        out[o], out_score[o] = cand[i], score[i]
        i += 1
        o += 1
    while j < m:
        out[o], out_score[o] = docs[j], np.float64(weights[j]) * times
        j += 1
        o += 1
    return out[:o], out_score[:o]


@numba.njit(cache=True, nogil=True)
def _add_lookups(
    cand: Ints,
    score: Floats,
    docs: npt.NDArray[np.int32],
    weights: npt.NDArray[np.float32],
    times: float,
) -> None:  # pragma: no cover - compiled
    """Each candidate's weight in one term's postings. The candidates ascend, so
    each is searched for from where the last was found: galloping (steps of 1,
    2, 4, ...) and then a binary search within the last step, about log2 of
    the gap between two candidates' places instead of log2 of the postings."""
    n = len(docs)
    low = 0
    for c in range(len(cand)):
        target = cand[c]
        step = 1
        while low + step < n and docs[low + step] < target:
            step *= 2
        high = min(low + step, n)
        low += step // 2
        while low < high:
            mid = (low + high) // 2
            if docs[mid] < target:
                low = mid + 1
            else:
                high = mid
        if low < n and docs[low] == target:
            score[c] += np.float64(weights[low]) * times


@numba.njit(cache=True, nogil=True)
def _at_least(score: Floats, rest: float, k: int) -> bool:  # pragma: no cover - compiled
    """Whether `k` scores exceed `rest`, that is whether `rest < _kth(score, k)`,
    counted in one pass without finding the k-th score."""
    count = 0
    for value in score:
        if value > rest:
            count += 1
            if count >= k:
                return True
    return False


@numba.njit(cache=True, nogil=True)
def _rest(bounds: Floats, start: int) -> float:  # pragma: no cover - compiled
    """What the terms from `start` on can add at most, summed as Python's `sum` does."""
    total = 0.0
    for i in range(start, len(bounds)):
        total += bounds[i]
    return total


@numba.njit(cache=True, nogil=True)
def _kth(score: Floats, k: int) -> float:  # pragma: no cover - compiled
    """The k-th largest score (1 <= k <= len(score)), with a min-heap of the k
    best: numba's np.partition took 1.3 ms on 100k scores, this about a tenth."""
    heap = score[:k].copy()
    for i in range(k // 2 - 1, -1, -1):
        _sift_down(heap, i)
    for i in range(k, len(score)):
        if score[i] > heap[0]:
            heap[0] = score[i]
            _sift_down(heap, 0)
    return float(heap[0])


@numba.njit(cache=True, nogil=True)
def _sift_down(heap: Floats, i: int) -> None:  # pragma: no cover - compiled
    n = len(heap)
    while True:
        low, left, right = i, 2 * i + 1, 2 * i + 2
        if left < n and heap[left] < heap[low]:
            low = left
        if right < n and heap[right] < heap[low]:
            low = right
        if low == i:
            return
        heap[i], heap[low] = heap[low], heap[i]
        i = low
