"""Fixed windows of `size` tokens, consecutive windows sharing `overlap` tokens.

Tables are not windowed: each is packed on its own by the recursive rules of
`ingest.chunking.tables` (whole when it fits, else cut between rows with its
header repeated), and the windows of the text around it stop at its edges.
"""

from __future__ import annotations

from ingest.chunking.base import to_chunks
from ingest.chunking.recursive import pack
from ingest.chunking.spans import Span, TokenIndex
from ingest.chunking.tables import TableMap
from rag.documents import Chunk, Document
from rag.embedding import Tokenizer


class FixedChunker:
    def __init__(self, tokenizer: Tokenizer, size: int, overlap: int) -> None:
        self._tokenizer = tokenizer
        self._size = size
        self._overlap = overlap

    def chunk(self, document: Document) -> list[Chunk]:
        tokens = TokenIndex(self._tokenizer.token_offsets(document.text))
        tables = TableMap(document.text, tokens, self._size)
        stride = self._size - self._overlap
        spans: list[Span] = []
        cursor = 0
        for index, table in enumerate(tables.tables):
            spans.extend(tokens.windows(cursor, table.start, self._size, stride))
            spans.extend(pack(tables.units(index), tokens, self._size, 0, tables))
            cursor = table.end
        spans.extend(tokens.windows(cursor, len(document.text), self._size, stride))
        return to_chunks(document, spans, self._tokenizer, self._size, tables)
