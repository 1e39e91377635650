"""The chunker contract, and turning spans into chunks that know where they are."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from ingest.chunking.spans import Span, stripped
from ingest.chunking.tables import TableMap
from rag.documents import Chunk, Document
from rag.embedding import Tokenizer


class Chunker(Protocol):
    def chunk(self, document: Document) -> list[Chunk]:
        """Chunks in document order; none empty, none over the token limit."""
        ...


def to_chunks(
    document: Document,
    spans: Sequence[Span],
    tokenizer: Tokenizer,
    size: int,
    tables: TableMap,
) -> list[Chunk]:
    """Chunks for `spans`, each counted alone by the model's tokenizer; one
    that starts inside a table's body begins with that table's header rows
    (`ingest.chunking.tables` says how its text and span then relate).

    A span cut inside a word can tokenize to more pieces alone than in context
    ("##vas" becomes "va", "##s"); such a span is split again so that no chunk
    is ever truncated by the model.
    """
    text = document.text
    headers: dict[int, tuple[str, int]] = {}

    def header(start: int) -> tuple[str, int]:
        table = tables.header_for(start)
        if table is None:
            return "", 0
        if table.start not in headers:
            rows = text[table.start : table.header_end]
            headers[table.start] = (rows + "\n", len(tokenizer.token_offsets(rows)))
        return headers[table.start]

    chunks: list[Chunk] = []
    for span in spans:
        for start, end, n_tokens in _fitting(text, span, tokenizer, lambda a: size - header(a)[1]):
            first, last = document.page_range(start, end)
            prefix, prefix_tokens = header(start)
            chunks.append(
                Chunk(
                    doc_id=document.doc_id,
                    ordinal=len(chunks),
                    text=prefix + text[start:end],
                    char_start=start,
                    char_end=end,
                    n_tokens=prefix_tokens + n_tokens,
                    page_start=first,
                    page_end=last,
                    heading_path=document.heading_path(start),
                )
            )
    return chunks


# English prose runs about 5 characters a token. WordPiece turns a word of over
# 100 characters (a hash, a DNA string) into one [UNK] token, so without a cap in
# characters a megabyte with no space would be a single one-token chunk.
MAX_CHARS_PER_TOKEN = 24


def _fitting(
    text: str, span: Span, tokenizer: Tokenizer, room: Callable[[int], int]
) -> Iterator[tuple[int, int, int]]:
    """Pieces of `span`, each of at most `size = room(its start)` tokens and
    `size * MAX_CHARS_PER_TOKEN` characters; each step tokenizes only that many
    characters, so a long span costs linear time."""
    piece = stripped(text, span.start, span.end)
    while piece is not None:
        size = room(piece.start)
        end = min(piece.end, piece.start + size * MAX_CHARS_PER_TOKEN)
        offsets = tokenizer.token_offsets(text[piece.start : end])
        if len(offsets) <= size and end == piece.end:
            if offsets:
                yield piece.start, piece.end, len(offsets)
            return
        cut = piece.start + offsets[size - 1][1] if len(offsets) > size else end
        head = stripped(text, piece.start, cut)
        if head is not None:
            tokens = len(tokenizer.token_offsets(text[head.start : head.end]))
            if tokens:
                yield head.start, head.end, tokens
        piece = stripped(text, cut, piece.end)
