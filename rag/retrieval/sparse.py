"""BM25 retrieval with the index's own term analyzer (over every shard, merged)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from rag.index.snapshot import Snapshot
from rag.index.terms import TermAnalyzer
from rag.retrieval.hits import Hit, ranked
from rag.settings import TokenizerSettings


class SparseRetriever:
    def __init__(self, snapshot: Snapshot, settings: TokenizerSettings) -> None:
        self._search = snapshot.search
        self._analyzer = TermAnalyzer(settings)

    def retrieve(
        self, question: str, k: int, allowed: npt.NDArray[np.int64] | None = None
    ) -> list[Hit]:
        hits = self._search.sparse(self._analyzer.terms(question), k, allowed)
        return ranked(hits.positions.tolist(), hits.scores.tolist())
