"""BM25 served from a sparse inverted index.

rank-bm25 scores every document in Python for each query term: 223 ms per
query and 1.2 GB RSS at 100k passages here. This index precomputes each
posting's full BM25 weight at build time (a CSR matrix, one row per term), so a
query is a gather and a sum over the postings of its terms. rank-bm25 stays as
the reference the tests compare scores and rankings against.

On disk: `vocab.json` (terms in row order), `term_ptr.npy`, `postings.npy`
(document positions), `weights.npy`, `params.json`. No pickles.
"""

from __future__ import annotations

import functools
import json
from array import array
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import numpy.typing as npt

from rag.index import bm25_maxscore
from rag.index.bm25_build import Postings, PostingsBuilder
from rag.index.bm25_scoring import bm25_idf, idf_lucene, idf_okapi, tf_saturation
from rag.settings import BM25Method, BM25Settings

Ints = npt.NDArray[np.int64]
EXHAUSTIVE_UP_TO = 50_000
Scores = npt.NDArray[np.float32]
Found = tuple[Ints, npt.NDArray[np.floating]]  # positions and scores, unordered


@dataclass(frozen=True)
class SparseHits:
    positions: Ints
    scores: Scores


class BM25Index:
    def __init__(
        self,
        vocab: list[str],
        term_ptr: Ints,
        postings: npt.NDArray[np.int32],
        weights: Scores,
        n_docs: int,
    ) -> None:
        self.vocab = vocab
        self._row = {term: i for i, term in enumerate(vocab)}
        self._term_ptr = term_ptr
        self._postings = postings
        self._weights = weights
        self.n_docs = n_docs
        self._term_max = _term_max(term_ptr, weights)

    @classmethod
    def build(cls, docs: Iterable[Sequence[str]], settings: BM25Settings) -> BM25Index:
        """Index analysed documents as they stream in, a block at a time
        (`bm25_build`): a million chunks cost their postings, not their tokens."""
        builder = PostingsBuilder(settings)
        for terms in docs:
            builder.add(terms)
        return cls.of(builder.build())

    @classmethod
    def of(cls, built: Postings) -> BM25Index:
        return cls(built.vocab, built.term_ptr, built.postings, built.weights, built.n_docs)

    @classmethod
    def from_term_ids(
        cls,
        lengths: Ints,
        term_ids: npt.NDArray[np.int32],
        vocab: list[str],
        settings: BM25Settings,
        corpus: CorpusStats | None = None,
    ) -> BM25Index:
        """Index documents given as one array of term ids (`lengths[i]` ids for
        document i, in order) over `vocab`; rows are stored in sorted term order.
        All at once: the shards' builder (`rag.index.shards`), and the reference
        the block-wise `build` is tested against.

        With `corpus`, the statistics of a whole corpus these documents are a
        part of (a shard), idf and average length come from it, so every weight
        equals the one the whole corpus indexed at once would hold."""
        n_docs, n_terms = len(lengths), len(vocab)
        sorted_rank = np.empty(n_terms, dtype=np.int64)
        sorted_rank[np.argsort(np.array(vocab, dtype=object), kind="stable")] = np.arange(n_terms)
        keys = sorted_rank[term_ids]  # one (term, document) key per occurrence, in place
        keys *= max(n_docs, 1)
        keys += np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        keys.sort()
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else keys
        tfs = np.diff(np.r_[starts, keys.size])
        keys = keys[starts]
        term_rows, doc_cols = np.divmod(keys, max(n_docs, 1))
        df = np.bincount(term_rows, minlength=n_terms)
        doc_len = lengths.astype(np.float64)
        if corpus is None:
            idf = bm25_idf(df.astype(np.float64), n_docs, settings)
            avgdl = float(doc_len.mean()) if n_docs else 0.0
        else:
            idf = corpus.idf(sorted(vocab), settings)
            avgdl = corpus.avgdl
        sat = tf_saturation(
            tfs.astype(np.float64), doc_len[doc_cols], avgdl, settings.k1, settings.b
        )
        weights = (idf[term_rows] * sat).astype(np.float32)
        term_ptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=term_ptr[1:])
        return cls(sorted(vocab), term_ptr, doc_cols.astype(np.int32), weights, n_docs)

    def scores(self, query_terms: Sequence[str]) -> Scores:
        """Score of every document (zero where no query term occurs)."""
        rows = [self._row[t] for t in query_terms if t in self._row]
        if not rows:
            return np.zeros(self.n_docs, dtype=np.float32)
        slices = [slice(self._term_ptr[r], self._term_ptr[r + 1]) for r in rows]
        docs = np.concatenate([self._postings[s] for s in slices])
        weights = np.concatenate([self._weights[s] for s in slices])
        return np.bincount(docs, weights=weights, minlength=self.n_docs).astype(np.float32)

    def search(self, query_terms: Sequence[str], k: int, allowed: Ints | None = None) -> SparseHits:
        """Top `k` documents with a positive score, best first (ties: lower position),
        among the `allowed` positions when given."""
        rows = [self._row[t] for t in query_terms if t in self._row]
        found = None
        if allowed is None and k > 0 and rows:
            found = self._top_k(rows, k)
        if found is not None:
            positions, scores = found
            return _best(positions, scores.astype(np.float32), k)
        every = self.scores(query_terms)
        if allowed is not None:
            kept = np.zeros_like(every)
            kept[allowed] = every[allowed]
            every = kept
        matched = np.flatnonzero(every > 0)
        return _best(matched, every[matched], k)

    def _top_k(self, rows: list[int], k: int) -> Found | None:
        """The top `k` (unordered, ties at the k-th included) in one compiled call
        (`rag.index.bm25_compiled`); without numba, MaxScore in numpy where the
        postings are many, and None (score them all here) otherwise."""
        arrays = (self._term_ptr, self._postings, self._weights, self._term_max)
        budget = max(self.n_docs // 4, 10_000)
        compiled = _compiled()
        if compiled is not None:
            found: Found = compiled.top_k(rows, k, *arrays, self.n_docs, budget, EXHAUSTIVE_UP_TO)
            return found
        postings = sum(int(self._term_ptr[r + 1] - self._term_ptr[r]) for r in rows)
        if postings <= EXHAUSTIVE_UP_TO:  # scoring them all is cheaper than pruning
            return None
        return bm25_maxscore.maxscore_top_k(rows, k, *arrays, budget=budget)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.json").write_text(json.dumps(self.vocab), encoding="utf-8")
        np.save(folder / "term_ptr.npy", self._term_ptr)
        np.save(folder / "postings.npy", self._postings)
        np.save(folder / "weights.npy", self._weights)
        (folder / "params.json").write_text(json.dumps({"n_docs": self.n_docs}), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
        return cls(
            vocab,
            np.load(folder / "term_ptr.npy"),
            np.load(folder / "postings.npy", mmap_mode="r"),
            np.load(folder / "weights.npy", mmap_mode="r"),
            int(params["n_docs"]),
        )


@functools.cache
def _compiled() -> ModuleType | None:
    """`rag.index.bm25_compiled`, or None where numba cannot be imported (then
    the numpy MaxScore, its reference, and numpy's exhaustive scoring serve);
    numba is imported with the first query, not with this module."""
    try:
        from rag.index import bm25_compiled
    except ImportError:  # pragma: no cover - numba is a dependency; a broken install
        return None
    return bm25_compiled


def _best(positions: Ints, scores: Scores, k: int) -> SparseHits:
    keep = scores > 0
    positions, scores = positions[keep], scores[keep]
    if positions.size > k:  # everything at or above the k-th score: ties resolve by position
        kth = np.partition(scores, positions.size - k)[positions.size - k]
        above = scores >= kth
        positions, scores = positions[above], scores[above]
    order = np.lexsort((positions, -scores))[:k]
    return SparseHits(positions[order].astype(np.int64), scores[order])


def _term_max(term_ptr: Ints, weights: Scores) -> Scores:
    """Each term's largest posting weight (0 for a term with no postings)."""
    out = np.zeros(len(term_ptr) - 1, dtype=np.float32)
    filled = np.flatnonzero(np.diff(term_ptr) > 0)
    if filled.size:
        out[filled] = np.maximum.reduceat(np.asarray(weights), term_ptr[filled])
    return out


@dataclass(frozen=True)
class Analysed:
    """Analysed documents as arrays: `lengths[i]` term ids for document i, in
    order, in `term_ids`, over `vocab` (in first-seen order)."""

    lengths: Ints
    term_ids: npt.NDArray[np.int32]
    vocab: list[str]

    @classmethod
    def of(cls, docs: Iterable[Sequence[str]]) -> Analysed:
        ids: dict[str, int] = {}
        flat, lengths = array("i"), array("q")
        for terms in docs:
            before = len(flat)
            flat.extend(ids.setdefault(t, len(ids)) for t in terms)
            lengths.append(len(flat) - before)
        return cls(
            np.frombuffer(lengths, dtype=np.int64), np.frombuffer(flat, dtype=np.int32), list(ids)
        )

    def stats(self) -> CorpusStats:
        """This part's document count, total length and document frequencies."""
        docs = np.repeat(np.arange(len(self.lengths), dtype=np.int64), self.lengths)
        pairs = np.unique(self.term_ids.astype(np.int64) * max(len(self.lengths), 1) + docs)
        df = np.bincount(pairs // max(len(self.lengths), 1), minlength=len(self.vocab))
        return CorpusStats(
            len(self.lengths),
            int(self.lengths.sum()),
            dict(zip(self.vocab, df.tolist(), strict=True)),
        )


@dataclass(frozen=True)
class CorpusStats:
    """What BM25 weights need from the whole corpus: its document count, total
    length (in terms) and each term's document frequency. Shards' statistics
    add up to the corpus's (`merged`)."""

    n_docs: int
    total_length: int
    df: dict[str, int]

    @property
    def avgdl(self) -> float:
        # The same float as the mean of the lengths: their sum is exact below 2**53.
        return self.total_length / self.n_docs if self.n_docs else 0.0

    def idf(self, terms: Sequence[str], settings: BM25Settings) -> npt.NDArray[np.float64]:
        """idf of each of `terms` over the whole corpus."""
        if settings.method is BM25Method.OKAPI:  # its floor depends on the whole vocabulary
            every = np.fromiter(self.df.values(), dtype=np.float64, count=len(self.df))
            return idf_okapi(self._df(terms), self.n_docs, settings.epsilon, every)
        return idf_lucene(self._df(terms), self.n_docs)

    def _df(self, terms: Sequence[str]) -> npt.NDArray[np.float64]:
        return np.array([self.df[t] for t in terms], dtype=np.float64)

    @staticmethod
    def merged(parts: Iterable[CorpusStats]) -> CorpusStats:
        n_docs, total, df = 0, 0, Counter[str]()
        for part in parts:
            n_docs += part.n_docs
            total += part.total_length
            df.update(part.df)
        return CorpusStats(n_docs, total, dict(df))
