"""Tables in a document's text as the chunkers see them, and the header a
piece of a table repeats.

Every loader writes a table as a Markdown pipe table (`ingest.tables`), so the
chunkers find tables in any document's text. Their rules:

- a table that fits in one chunk is never cut: a chunk that would end inside
  it ends before it, and the table starts the next chunk;
- a longer table is cut between rows only (a row longer than a chunk is the
  one exception: it is cut between words), no row is repeated by the overlap,
  and every chunk that starts inside a table's body begins with the table's
  header and delimiter rows, so that each piece reads as a table of its own.

How a repeated header and the chunk's span relate: the header is not in the
document text where the piece starts, so it cannot be inside the span. The
chunk's `text` is the header, a newline, then exactly
`document.text[char_start:char_end]`: the rows it holds. Embedding, BM25 and
the generator's prompt read `text`, so a question naming a column finds the
row, and the model is told what each cell is. Citations and highlights take
offsets into `text` and map them back through `Chunk.prefix_chars` (the
length of the repeated part, `len(text) - (char_end - char_start)`) with
`Passage.document_offset`, so every span stays true to the document: one
inside the repeated header falls on the first row it heads. Keeping the header
in a separate field instead would have needed a new column in every stored
index and a join before each embedding and BM25 pass, with the same result.

A header of more than half a chunk's tokens is not repeated: it would leave
less room for rows than it takes.
"""

from __future__ import annotations

import bisect

from ingest.chunking.spans import Span, TokenIndex, words
from ingest.tables import TableSpan, find_tables

# A repeated header may take at most this share of a chunk's tokens.
MAX_HEADER_SHARE = 0.5


class TableMap:
    """The tables of one document's text, with their token counts."""

    def __init__(self, text: str, tokens: TokenIndex, size: int) -> None:
        self.text = text
        self.tables = find_tables(text)
        self._starts = [t.start for t in self.tables]
        self._tokens = tokens
        self._size = size

    def at(self, offset: int) -> int:
        """Index of the table holding `offset`; -1 if none."""
        i = bisect.bisect_right(self._starts, offset) - 1
        return i if i >= 0 and offset < self.tables[i].end else -1

    def header_for(self, start: int) -> TableSpan | None:
        """The table whose header a chunk starting at `start` repeats: the one
        whose body holds `start`, if its header is short enough to repeat."""
        i = self.at(start)
        if i < 0 or start < self.tables[i].header_end:
            return None
        table = self.tables[i]
        return table if self._repeats(table) else None

    def header_tokens(self, start: int) -> int:
        """Tokens a chunk starting at `start` spends on a repeated header."""
        table = self.header_for(start)
        return 0 if table is None else self._tokens.count(table.start, table.header_end)

    def fits(self, table: TableSpan) -> bool:
        """Whether the whole table fits in one chunk."""
        return self._tokens.count(table.start, table.end) <= self._size

    def units(self, index: int) -> list[Span]:
        """The table as packing units: its header and delimiter rows as one,
        then each body row; a row over the room left beside a repeated header
        is cut into words, and a word into token windows. The last unit ends a
        paragraph (a good place for a chunk to end)."""
        table = self.tables[index]
        room = self._size - (self._header_count(table) if self._repeats(table) else 0)
        rows = [(table.start, table.header_end), *table.rows]
        units: list[Span] = []
        for start, end in rows:
            if self._tokens.count(start, end) <= room:
                units.append(Span(start, end, table=index))
                continue
            for word in words(self.text, Span(start, end)):
                if self._tokens.count(word.start, word.end) <= room:
                    units.append(Span(word.start, word.end, table=index))
                else:
                    windows = self._tokens.windows(word.start, word.end, room, room)
                    units.extend(Span(w.start, w.end, table=index) for w in windows)
        if units:
            units[-1] = Span(units[-1].start, units[-1].end, paragraph_end=True, table=index)
        return units

    def _header_count(self, table: TableSpan) -> int:
        return self._tokens.count(table.start, table.header_end)

    def _repeats(self, table: TableSpan) -> bool:
        return self._header_count(table) <= self._size * MAX_HEADER_SHARE
