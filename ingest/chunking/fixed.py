"""Fixed windows of `size` tokens, consecutive windows sharing `overlap` tokens."""

from __future__ import annotations

from ingest.chunking.base import to_chunks
from ingest.chunking.spans import TokenIndex
from rag.documents import Chunk, Document
from rag.embedding import Tokenizer


class FixedChunker:
    def __init__(self, tokenizer: Tokenizer, size: int, overlap: int) -> None:
        self._tokenizer = tokenizer
        self._size = size
        self._overlap = overlap

    def chunk(self, document: Document) -> list[Chunk]:
        tokens = TokenIndex(self._tokenizer.token_offsets(document.text))
        stride = self._size - self._overlap
        spans = list(tokens.windows(0, len(document.text), self._size, stride))
        return to_chunks(document, spans, self._tokenizer, self._size)
