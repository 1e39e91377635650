"""Character spans of a text, measured in tokens of the embedding tokenizer.

The document is tokenized once; the token count of any span is then two
binary searches. WordPiece and BPE tokens never straddle whitespace, so spans
cut at whitespace count exactly what the model will see.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from rag.embedding import Offsets

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
# A sentence ends at . ! ? (and closing quotes or brackets) before whitespace
# and a character that is not a lowercase letter.
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*\s+(?=[^a-z\s])")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    paragraph_end: bool = False  # a paragraph break (or a table's end) follows this span
    table: int = -1  # the index of the table (`TableMap.tables`) this unit is part of


class TokenIndex:
    def __init__(self, offsets: Offsets) -> None:
        self.starts = [a for a, _ in offsets]
        self.ends = [b for _, b in offsets]

    def count(self, start: int, end: int) -> int:
        """Tokens lying wholly inside text[start:end]."""
        return max(bisect.bisect_right(self.ends, end) - bisect.bisect_left(self.starts, start), 0)

    def windows(self, start: int, end: int, size: int, stride: int) -> Iterator[Span]:
        """Spans of `size` tokens, `stride` tokens apart, inside text[start:end]."""
        first = bisect.bisect_left(self.starts, start)
        last = bisect.bisect_right(self.ends, end)
        for i in range(first, last, stride):
            j = min(i + size, last)
            yield Span(self.starts[i], self.ends[j - 1])
            if j == last:
                break


def stripped(text: str, start: int, end: int) -> Span | None:
    """The span without surrounding whitespace; None if nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if start < end else None


def paragraphs(text: str) -> list[Span]:
    spans, cursor = [], 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        piece = stripped(text, cursor, match.start())
        if piece:
            spans.append(piece)
        cursor = match.end()
    tail = stripped(text, cursor, len(text))
    spans = [*spans, tail] if tail else spans
    return [Span(s.start, s.end, paragraph_end=True) for s in spans]


def sentences(text: str, span: Span) -> list[Span]:
    pieces = []
    cursor = span.start
    for match in _SENTENCE_END.finditer(text, span.start, span.end):
        end_of_sentence = match.start() + len(match.group().rstrip())
        piece = stripped(text, cursor, end_of_sentence)
        if piece:
            pieces.append(piece)
        cursor = match.end()
    tail = stripped(text, cursor, span.end)
    return [*pieces, tail] if tail else pieces


def words(text: str, span: Span) -> list[Span]:
    return [Span(m.start(), m.end()) for m in _WORD.finditer(text, span.start, span.end)]
