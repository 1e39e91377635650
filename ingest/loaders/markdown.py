"""Markdown loader: the text as written, with its heading path kept per offset,
and its front matter as the document's metadata (`ingest.front_matter`).

Pipe tables are rewritten in the one form every loader writes
(`ingest.tables.markdown_table`: outer pipes, ragged rows padded), so the
chunkers find and repeat their header rows alike whatever their source.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from pathlib import Path

from ingest import front_matter
from ingest.loaders.text import read_text
from ingest.tables import normalize_tables
from rag.documents import Document, HeadingMark
from rag.settings import IngestSettings

_ATX = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)


class MarkdownLoader:
    suffixes = (".md", ".markdown")

    def load(self, path: Path, settings: IngestSettings) -> Iterator[Document]:
        meta, body = front_matter.split(read_text(path, settings))
        text = normalize_tables(body)
        headings = heading_marks(text)
        first = next((h.path[0] for h in headings if len(h.path) == 1), path.stem)
        title = meta.pop("title", "") or first
        yield Document(
            source_path=str(path),
            source_key=str(path),
            title=title,
            text=text,
            headings=tuple(headings),
            metadata={**meta, "format": "markdown"},
        )


def heading_marks(text: str) -> list[HeadingMark]:
    """One mark per ATX heading outside code fences, with the full heading path."""
    fenced = _fenced_spans(text)
    starts = [a for a, _ in fenced]
    stack: list[tuple[int, str]] = []
    marks = []
    for match in _ATX.finditer(text):
        if _inside(match.start(), fenced, starts):
            continue
        level = len(match.group(1))
        stack = [(lvl, name) for lvl, name in stack if lvl < level]
        stack.append((level, match.group(2).strip()))
        marks.append(HeadingMark(match.start(), tuple(name for _, name in stack)))
    return marks


def _inside(offset: int, spans: list[tuple[int, int]], starts: list[int]) -> bool:
    """Whether `offset` lies in one of the sorted, disjoint `spans` (a binary
    search: testing every fence for every heading was quadratic, 4.7 s for
    8,000 of each)."""
    i = bisect.bisect_right(starts, offset) - 1
    return i >= 0 and offset < spans[i][1]


def _fenced_spans(text: str) -> list[tuple[int, int]]:
    starts = [m.start() for m in _FENCE.finditer(text)]
    pairs = zip(starts[::2], [*starts[1::2], len(text)], strict=False)
    return list(pairs)
