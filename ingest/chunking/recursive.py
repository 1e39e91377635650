"""Recursive chunking: paragraphs, then sentences, then words, then token windows.

Text is cut into the coarsest units that fit the token budget, then units are
packed greedily. A chunk that would end mid-paragraph ends at its last
paragraph break instead when that break lies in its second half, and each new
chunk repeats the trailing whole units of the previous one that fit in
`overlap` tokens.
"""

from __future__ import annotations

from ingest.chunking.base import to_chunks
from ingest.chunking.spans import Span, TokenIndex, paragraphs, sentences, words
from rag.documents import Chunk, Document
from rag.embedding import Tokenizer


class RecursiveChunker:
    def __init__(self, tokenizer: Tokenizer, size: int, overlap: int) -> None:
        self._tokenizer = tokenizer
        self._size = size
        self._overlap = overlap

    def chunk(self, document: Document) -> list[Chunk]:
        tokens = TokenIndex(self._tokenizer.token_offsets(document.text))
        units = split_units(document.text, tokens, self._size)
        spans = pack(units, tokens, self._size, self._overlap)
        return to_chunks(document, spans, self._tokenizer, self._size)


def split_units(text: str, tokens: TokenIndex, size: int) -> list[Span]:
    """Sentence-level units (finer where a sentence is over `size`) in order."""
    units: list[Span] = []
    for paragraph in paragraphs(text):
        pieces = _fit(text, tokens, sentences(text, paragraph), size)
        if pieces:
            last = pieces[-1]
            pieces[-1] = Span(last.start, last.end, paragraph_end=True)
        units.extend(pieces)
    return units


def _fit(text: str, tokens: TokenIndex, spans: list[Span], size: int) -> list[Span]:
    fitted: list[Span] = []
    for span in spans:
        if tokens.count(span.start, span.end) <= size:
            fitted.append(span)
            continue
        for word in words(text, span):
            if tokens.count(word.start, word.end) <= size:
                fitted.append(word)
            else:
                fitted.extend(tokens.windows(word.start, word.end, size, size))
    return fitted


def pack(units: list[Span], tokens: TokenIndex, size: int, overlap: int) -> list[Span]:
    """Greedy packing of units into spans of at most `size` tokens."""
    spans: list[Span] = []
    first = 0
    while first < len(units):
        last = _last_fitting(units, tokens, first, size)
        last = _prefer_paragraph_end(units, tokens, first, last, size)
        spans.append(Span(units[first].start, units[last].end))
        if last == len(units) - 1:
            break
        first = _overlap_start(units, tokens, first, last, overlap, size)
    return spans


def _last_fitting(units: list[Span], tokens: TokenIndex, first: int, size: int) -> int:
    last = first
    while last + 1 < len(units) and tokens.count(units[first].start, units[last + 1].end) <= size:
        last += 1
    return last


def _prefer_paragraph_end(
    units: list[Span], tokens: TokenIndex, first: int, last: int, size: int
) -> int:
    if units[last].paragraph_end or last == len(units) - 1:
        return last
    for k in range(last - 1, first - 1, -1):
        if units[k].paragraph_end:
            if tokens.count(units[first].start, units[k].end) * 2 >= size:
                return k
            break
    return last


def _overlap_start(
    units: list[Span], tokens: TokenIndex, first: int, last: int, overlap: int, size: int
) -> int:
    """First unit of the next chunk: trailing units of this one within `overlap` tokens."""
    start = last + 1
    following = units[last + 1].end
    while (
        start - 1 > first
        and tokens.count(units[start - 1].start, units[last].end) <= overlap
        and tokens.count(units[start - 1].start, following) <= size
    ):
        start -= 1
    return start
