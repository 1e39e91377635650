"""Typed values passed between stages: documents, pages and chunks.

Ids come from content: a document's id is a hash of where it came from (so a
changed file keeps its id and is recognised as an update), its `content_hash`
a hash of its text; a chunk's id hashes its document, span and text.
"""

from __future__ import annotations

import bisect
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def short_hash(*parts: str, length: int = 16) -> str:
    digest = hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class PageSpan:
    """Page `number` (1-based) covers `text[start:end]` of its document."""

    number: int
    start: int
    end: int


def page_range(pages: Sequence[PageSpan], start: int, end: int) -> tuple[int | None, int | None]:
    """First and last of `pages` (in text order) touched by the characters
    `start:end`; (None, None) without pages."""
    if not pages:
        return None, None
    # Searched by key, not through a list of starts made per call: one call per
    # chunk made that quadratic in the pages (and headings, below).
    first = max(bisect.bisect_right(pages, start, key=_start) - 1, 0)
    last = max(bisect.bisect_right(pages, max(end - 1, start), key=_start) - 1, 0)
    return pages[first].number, pages[last].number


def _start(page: PageSpan) -> int:
    return page.start


def prefix_chars(text: str, start: int, end: int) -> int:
    """Characters at the head of a chunk's `text` that are not document text
    at its span `start:end` (the rest of `text` is)."""
    return max(len(text) - (end - start), 0)


def document_offset(text: str, start: int, end: int, offset: int) -> int:
    """The document offset of `text[offset]`, for a chunk's `text` spanning
    `start:end`; an offset inside the prefix falls on the span's start."""
    return start + max(offset - prefix_chars(text, start, end), 0)


@dataclass(frozen=True)
class HeadingMark:
    """From `offset` on, the text sits under this heading path (outermost first)."""

    offset: int
    path: tuple[str, ...]


def _offset(mark: HeadingMark) -> int:
    return mark.offset


@dataclass(frozen=True)
class Document:
    source_path: str
    source_key: str
    title: str
    text: str
    pages: tuple[PageSpan, ...] = ()
    headings: tuple[HeadingMark, ...] = ()
    metadata: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def doc_id(self) -> str:
        return short_hash(self.source_key)

    @property
    def content_hash(self) -> str:
        return content_hash(self.title + "\x00" + self.text)

    def page_range(self, start: int, end: int) -> tuple[int | None, int | None]:
        """First and last page touched by `text[start:end]`; (None, None) if unpaged."""
        return page_range(self.pages, start, end)

    def heading_path(self, offset: int) -> tuple[str, ...]:
        """The heading path in force at `offset`."""
        i = bisect.bisect_right(self.headings, offset, key=_offset) - 1
        return self.headings[i].path if i >= 0 else ()


@dataclass(frozen=True)
class Chunk:
    """`text` is what is embedded, indexed and shown: `document.text[char_start:
    char_end]`, after `prefix_chars` characters that are not in the document
    there (the header rows of a table the chunk continues;
    `ingest.chunking.tables`)."""

    doc_id: str
    ordinal: int
    text: str
    char_start: int
    char_end: int
    n_tokens: int
    page_start: int | None = None
    page_end: int | None = None
    heading_path: tuple[str, ...] = ()

    @property
    def chunk_id(self) -> str:
        return short_hash(self.doc_id, str(self.char_start), str(self.char_end), self.text)

    @property
    def prefix_chars(self) -> int:
        return prefix_chars(self.text, self.char_start, self.char_end)

    @property
    def text_hash(self) -> str:
        """Key of the embedding cache: equal texts share one embedding."""
        return content_hash(self.text)[:32]
