"""Building BM25's postings a block of documents at a time.

Indexing every (term, document) key of a corpus at once held eight bytes per
token and several float64 temporaries per posting: 12.2 GB at 1M chunks
(`rag bench memory`). Here each block of `BLOCK` documents is reduced to its
(term, document, tf) postings as soon as it is complete, which is all that is
kept of it; at the end each block's postings are weighted and scattered to
their term's rows. Blocks arrive in document order, so each row's documents
stay ascending, and every array equals what `BM25Index.from_term_ids` builds
from the whole corpus (`tests/index/test_bm25.py` holds them equal).
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rag.index.bm25_scoring import bm25_idf, tf_saturation
from rag.settings import BM25Settings

BLOCK = 65_536
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Block:
    """One block's postings, sorted by (first-seen term id, document)."""

    terms: npt.NDArray[np.int32]
    docs: npt.NDArray[np.int32]
    tfs: npt.NDArray[np.int32]


@dataclass(frozen=True)
class Postings:
    vocab: list[str]  # sorted: row order
    term_ptr: Ints
    postings: npt.NDArray[np.int32]
    weights: npt.NDArray[np.float32]
    n_docs: int


class PostingsBuilder:
    def __init__(self, settings: BM25Settings, block: int = BLOCK) -> None:
        self._settings = settings
        self._block = block
        self._ids: dict[str, int] = {}
        self._lengths = array("q")
        self._pending = array("i")
        self._first = 0  # the first document of the pending block
        self._blocks: list[Block] = []

    def add(self, terms: Sequence[str]) -> None:
        """The next document's analysed terms."""
        before = len(self._pending)
        self._pending.extend(self._ids.setdefault(t, len(self._ids)) for t in terms)
        self._lengths.append(len(self._pending) - before)
        if len(self._lengths) - self._first >= self._block:
            self._close_block()

    def _close_block(self) -> None:
        count = len(self._lengths) - self._first
        if not count:
            return
        lengths = np.frombuffer(self._lengths, dtype=np.int64)[self._first :]
        keys = np.frombuffer(self._pending, dtype=np.int32).astype(np.int64)
        keys *= count
        keys += np.repeat(np.arange(count, dtype=np.int64), lengths)
        keys.sort()
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else keys
        tfs = np.diff(np.r_[starts, keys.size]).astype(np.int32)
        terms, docs = np.divmod(keys[starts], count)
        docs += self._first
        self._blocks.append(Block(terms.astype(np.int32), docs.astype(np.int32), tfs))
        self._pending = array("i")
        self._first = len(self._lengths)

    def build(self) -> Postings:
        self._close_block()
        vocab = list(self._ids)
        n_docs, n_terms = len(self._lengths), len(vocab)
        rank = np.empty(n_terms, dtype=np.int64)  # first-seen id -> row (sorted term order)
        rank[np.argsort(np.array(vocab, dtype=object), kind="stable")] = np.arange(n_terms)
        df = np.zeros(n_terms, dtype=np.int64)  # by row
        for block in self._blocks:
            df += np.bincount(rank[block.terms], minlength=n_terms)
        doc_len = np.frombuffer(self._lengths, dtype=np.int64).astype(np.float64)
        avgdl = float(doc_len.mean()) if n_docs else 0.0
        idf = bm25_idf(df.astype(np.float64), n_docs, self._settings)
        term_ptr = np.zeros(n_terms + 1, dtype=np.int64)
        np.cumsum(df, out=term_ptr[1:])
        postings = np.empty(int(term_ptr[-1]), dtype=np.int32)
        weights = np.empty(int(term_ptr[-1]), dtype=np.float32)
        cursor = term_ptr[:-1].copy()  # where each row's next posting goes
        while self._blocks:
            block = self._blocks.pop(0)  # freed as soon as it is scattered
            rows = rank[block.terms]
            at = _destinations(rows, cursor)
            postings[at] = block.docs
            sat = tf_saturation(
                block.tfs.astype(np.float64),
                doc_len[block.docs],
                avgdl,
                self._settings.k1,
                self._settings.b,
            )
            weights[at] = (idf[rows] * sat).astype(np.float32)
        return Postings(sorted(vocab), term_ptr, postings, weights, n_docs)


def _destinations(rows: Ints, cursor: Ints) -> Ints:
    """Where each posting of a block goes: its row's cursor plus its place among
    the block's postings of that row (the block holds each row's run contiguously);
    the cursors move past them."""
    if not rows.size:
        return rows
    run_starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    run_lengths = np.diff(np.r_[run_starts, rows.size])
    run_rows = rows[run_starts]
    within = np.arange(rows.size) - np.repeat(run_starts, run_lengths)
    at = cursor[np.repeat(run_rows, run_lengths)] + within
    cursor[run_rows] += run_lengths
    return at
