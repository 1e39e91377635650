"""Recursive chunking: paragraphs, then sentences, then words, then token windows.

Text is cut into the coarsest units that fit the token budget, then units are
packed greedily. A chunk that would end mid-paragraph ends at its last
paragraph break instead when that break lies in its second half, and each new
chunk repeats the trailing whole units of the previous one that fit in
`overlap` tokens. A table's units are its rows, kept by the rules of
`ingest.chunking.tables`: a table that fits in a chunk is never cut, a longer
one only between rows, its header repeated, and no row is repeated by the
overlap.
"""

from __future__ import annotations

import bisect

from ingest.chunking.base import to_chunks
from ingest.chunking.spans import Span, TokenIndex, paragraphs, sentences, words
from ingest.chunking.tables import TableMap
from rag.documents import Chunk, Document
from rag.embedding import Tokenizer


class RecursiveChunker:
    def __init__(self, tokenizer: Tokenizer, size: int, overlap: int) -> None:
        self._tokenizer = tokenizer
        self._size = size
        self._overlap = overlap

    def chunk(self, document: Document) -> list[Chunk]:
        tokens = TokenIndex(self._tokenizer.token_offsets(document.text))
        tables = TableMap(document.text, tokens, self._size)
        units = split_units(document.text, tokens, self._size, tables)
        spans = pack(units, tokens, self._size, self._overlap, tables)
        return to_chunks(document, spans, self._tokenizer, self._size, tables)


def split_units(text: str, tokens: TokenIndex, size: int, tables: TableMap) -> list[Span]:
    """Sentence-level units (finer where a sentence is over `size`) and table
    rows, in order. A paragraph break, and each edge of a table, ends a unit
    with `paragraph_end`."""
    units: list[Span] = []
    starts = [t.start for t in tables.tables]
    for paragraph in paragraphs(text):
        cursor = paragraph.start
        first = bisect.bisect_left(starts, paragraph.start)
        last = bisect.bisect_left(starts, paragraph.end)
        for index in range(first, last):  # a table has no blank line: it lies in one paragraph
            units.extend(_prose(text, tokens, Span(cursor, tables.tables[index].start), size))
            units.extend(tables.units(index))
            cursor = tables.tables[index].end
        units.extend(_prose(text, tokens, Span(cursor, paragraph.end), size))
    return units


def _prose(text: str, tokens: TokenIndex, span: Span, size: int) -> list[Span]:
    pieces = _fit(text, tokens, sentences(text, span), size)
    if pieces:
        last = pieces[-1]
        pieces[-1] = Span(last.start, last.end, paragraph_end=True)
    return pieces


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


def pack(
    units: list[Span], tokens: TokenIndex, size: int, overlap: int, tables: TableMap
) -> list[Span]:
    """Greedy packing of units into spans of at most `size` tokens, a repeated
    table header included. Each span holds at least the first unit that no
    span before it held (`fresh`), so packing always moves on."""
    spans: list[Span] = []
    first = fresh = 0
    while first < len(units):
        room = size - tables.header_tokens(units[first].start)
        last = _last_fitting(units, tokens, first, room)
        last = _keep_table_whole(units, tables, first, fresh, last)
        last = _prefer_paragraph_end(units, tokens, first, fresh, last, room)
        spans.append(Span(units[first].start, units[last].end))
        if last == len(units) - 1:
            break
        first = _overlap_start(units, tokens, tables, first, last, overlap, size)
        fresh = last + 1
    return spans


def _last_fitting(units: list[Span], tokens: TokenIndex, first: int, size: int) -> int:
    last = first
    while last + 1 < len(units) and tokens.count(units[first].start, units[last + 1].end) <= size:
        last += 1
    return last


def _keep_table_whole(
    units: list[Span], tables: TableMap, first: int, fresh: int, last: int
) -> int:
    """A chunk that would end inside a table that fits in one chunk, and that
    began before it, ends before it instead."""
    index = units[last].table
    if index < 0 or last + 1 == len(units) or units[last + 1].table != index:
        return last
    table = tables.tables[index]
    if units[first].start >= table.start or not tables.fits(table):
        return last
    head = last
    while units[head].start > table.start:
        head -= 1
    return head - 1 if head - 1 >= fresh else last


def _prefer_paragraph_end(
    units: list[Span], tokens: TokenIndex, first: int, fresh: int, last: int, size: int
) -> int:
    if units[last].paragraph_end or last == len(units) - 1:
        return last
    for k in range(last - 1, fresh - 1, -1):
        if units[k].paragraph_end:
            if tokens.count(units[first].start, units[k].end) * 2 >= size:
                return k
            break
    return last


def _overlap_start(
    units: list[Span],
    tokens: TokenIndex,
    tables: TableMap,
    first: int,
    last: int,
    overlap: int,
    size: int,
) -> int:
    """First unit of the next chunk: trailing units of this one within
    `overlap` tokens, never a table's (its rows are in one chunk each), and
    only as many as leave room for the next unit, or for all of the table it
    starts when that table fits in a chunk."""
    start = last + 1
    following = units[last + 1].end
    index = units[last + 1].table
    table = tables.tables[index] if index >= 0 else None
    if table is not None and units[last + 1].start == table.start and tables.fits(table):
        following = table.end
    while (
        start - 1 > first
        and units[start - 1].table < 0
        and tokens.count(units[start - 1].start, units[last].end) <= overlap
        and tokens.count(units[start - 1].start, following) <= size
    ):
        start -= 1
    return start
