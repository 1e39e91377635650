"""The evidence a generator is shown: from each retrieved passage, the run of
sentences that bears on the question, not the whole chunk.

Reading the prompt is where the local model's time goes (about 80 prompt
tokens/s on 2 cores, against 28 generated), and a 200-token chunk mostly holds
sentences that do not answer. Each sentence of the passages is scored against
the question (cosine of the embeddings plus the share of the question's terms
it holds); the best sentences are kept, each passage's as one run around its
best sentence, while all of them fit `answer.evidence_chars`. A passage with
no sentence kept is not shown. An excerpt is itself a
`Passage`: one contiguous span of the document with its own character range
and pages, so every citation and supporting span stays exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from rag.answer.verify import passage_sentences, term_coverage
from rag.embedding import Embedder
from rag.index.terms import TermAnalyzer
from rag.retrieval.passages import Passage

Span = tuple[int, int]


class EvidenceSelector:
    def __init__(self, embedder: Embedder, analyzer: TermAnalyzer, max_chars: int) -> None:
        self._embedder = embedder
        self._analyzer = analyzer
        self._max_chars = max_chars

    def select(self, question: str, passages: Sequence[Passage]) -> list[Passage]:
        """The passages that hold evidence, each cut to its run of sentences, in
        their retrieval order; `max_chars` is shared by all of them."""
        if not passages:
            return []
        spans = [passage_sentences(p.text) or [(0, len(p.text))] for p in passages]
        flat = [passages[i].text[a:b] for i, group in enumerate(spans) for a, b in group]
        scores = iter(self._scores(question, flat))
        grouped = [[next(scores) for _ in group] for group in spans]
        runs = allocate(spans, grouped, self._max_chars)
        return [excerpt(p, *run) for p, run in zip(passages, runs, strict=True) if run]

    def _scores(self, question: str, sentences: list[str]) -> list[float]:
        vectors = self._embedder.embed([question, *sentences])
        cosine = vectors[1:] @ vectors[0]
        terms = set(self._analyzer.terms(question))
        overlap = [term_coverage(terms, self._analyzer.terms(s)) for s in sentences]
        return [float(c) + o for c, o in zip(cosine, np.asarray(overlap), strict=True)]


def allocate(
    spans: Sequence[Sequence[Span]], scores: Sequence[Sequence[float]], max_chars: int
) -> list[Span | None]:
    """A run of sentences per passage (None: nothing of it is shown) within
    `max_chars` in all. The best sentence anywhere comes first, even when it
    alone is longer; then, best first, whichever fits of another passage's best
    sentence or a sentence next to a run already chosen."""
    runs: list[tuple[int, int] | None] = [None] * len(spans)
    used = 0
    while True:
        options = [
            (scores[p][i], p, i)
            for p, run in enumerate(runs)
            for i in _growth(run, len(spans[p]), scores[p])
        ]
        fitting = [o for o in options if not used or used + _cost(spans[o[1]], o[2]) <= max_chars]
        if not fitting:
            return [
                None if r is None else (spans[p][r[0]][0], spans[p][r[1]][1])
                for p, r in enumerate(runs)
            ]
        _, p, i = max(fitting)
        used += _cost(spans[p], i)
        run = runs[p]
        runs[p] = (i, i) if run is None else (min(run[0], i), max(run[1], i))


def _growth(run: tuple[int, int] | None, count: int, scores: Sequence[float]) -> list[int]:
    if run is None:
        return [max(range(count), key=lambda i: scores[i])]
    return [i for i in (run[0] - 1, run[1] + 1) if 0 <= i < count]


def _cost(spans: Sequence[Span], i: int) -> int:
    return spans[i][1] - spans[i][0] + 1


def excerpt(passage: Passage, start: int, end: int) -> Passage:
    """`passage.text[start:end]` as a passage of its own: span and pages follow.
    A passage that begins with a table's repeated header keeps it before the
    rows it keeps, so the generator still reads which column is which."""
    first = passage.document_offset(start)
    last = passage.document_offset(end)
    page_start, page_end = passage.span_pages(first, last)
    if page_start is None:
        page_start, page_end = passage.page_start, passage.page_end
    prefix = passage.prefix_chars
    text = (
        passage.text[start:end]
        if end <= prefix
        else passage.text[:prefix] + passage.text[max(start, prefix) : end]
    )
    return replace(
        passage,
        text=text,
        char_start=first,
        char_end=last,
        page_start=page_start,
        page_end=page_end,
    )
