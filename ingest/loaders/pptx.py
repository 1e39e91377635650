"""PowerPoint (.pptx) loader on python-pptx: one page per slide.

Each slide is a page numbered as PowerPoint numbers it (hidden slides
included), so a citation names the slide. Its title placeholder is its first
line and its heading; then come the text of its other shapes in the slide's
order (groups opened), its tables as Markdown tables (`ingest.tables`, a
merged cell copied into each cell it covers), and its speaker notes. Slides
without text are named in a warning, as the PDF loader names empty pages.

The title is the presentation's Title property, else the first slide's title,
else the file name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pptx import Presentation
from pptx.exc import PythonPptxError
from pptx.shapes.autoshape import Shape
from pptx.shapes.base import BaseShape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.shapes.group import GroupShape
from pptx.slide import Slide
from pptx.table import Table

from ingest.cleaning import count_word_chars, normalize_text
from ingest.loaders.limits import TextBudget
from ingest.loaders.office import PARSE_ERRORS, corrupt, open_package
from ingest.tables import markdown_table
from rag.documents import Document, HeadingMark, PageSpan
from rag.errors import EmptyFileError, LimitExceededError, NoTextError
from rag.settings import IngestSettings

PAGE_SEPARATOR = "\n\n"
_ERRORS: tuple[type[Exception], ...] = (*PARSE_ERRORS, PythonPptxError)


class PptxLoader:
    suffixes = (".pptx",)

    def load(self, path: Path, settings: IngestSettings) -> Iterator[Document]:
        yield _load(path, settings)


def _load(path: Path, settings: IngestSettings) -> Document:
    budget = TextBudget(path, settings)
    package = open_package(path, settings, "PowerPoint")
    try:
        deck = Presentation(package)
        slides = list(deck.slides)
        if len(slides) > settings.max_pages:
            raise LimitExceededError(
                path, f"{len(slides):,} slides is over ingest.max_pages ({settings.max_pages:,})"
            )
        texts = [_slide(slide, number, budget) for number, slide in enumerate(slides, start=1)]
        core_title = normalize_text(deck.core_properties.title or "")
    except _ERRORS as exc:
        raise corrupt(path, exc) from None
    if not slides:
        raise EmptyFileError(path, "no slides")
    return _assemble(path, texts, core_title)


def _slide(slide: Slide, number: int, budget: TextBudget) -> tuple[str, str]:
    """The slide's title and its whole text (the title its first line)."""
    budget.check_time(f"slide {number}")
    title_shape = slide.shapes.title
    title = normalize_text(title_shape.text_frame.text) if title_shape is not None else ""
    skip = title_shape.shape_id if title_shape is not None else None
    blocks = [title]
    blocks += [_shape_text(s, budget) for s in _shapes(slide) if s.shape_id != skip]
    if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
        notes = normalize_text(slide.notes_slide.notes_text_frame.text)
        blocks.append(f"Speaker notes: {notes}" if notes else "")
    text = "\n\n".join(b for b in blocks if b)
    budget.take(len(text))
    return title.replace("\n", " "), text


def _shapes(slide: Slide) -> Iterator[BaseShape]:
    """The slide's shapes in its order, those inside groups in place of the
    group (without recursion: groups may nest deep)."""
    todo: list[BaseShape] = list(reversed(slide.shapes))
    while todo:
        shape = todo.pop()
        if isinstance(shape, GroupShape):
            todo.extend(reversed(shape.shapes))
        else:
            yield shape


def _shape_text(shape: BaseShape, budget: TextBudget) -> str:
    if isinstance(shape, GraphicFrame) and shape.has_table:
        return _table(shape.table, budget)
    if isinstance(shape, Shape) and shape.has_text_frame:
        return normalize_text(shape.text_frame.text)
    return ""


def _table(table: Table, budget: TextBudget) -> str:
    """The table's cells, a merged cell's text in every cell it spans (each
    copy counted against the text budget: spans are the file's to claim)."""
    height, width = len(table.rows), len(table.columns)
    grid = [[""] * width for _ in range(height)]
    for r in range(height):
        for c in range(width):
            cell = table.cell(r, c)
            if cell.is_spanned:
                continue
            text = normalize_text(cell.text)
            rows = range(r, min(r + cell.span_height, height)) if cell.is_merge_origin else [r]
            columns = range(c, min(c + cell.span_width, width)) if cell.is_merge_origin else [c]
            budget.take((len(text) + 3) * (len(rows) * len(columns) - 1))
            for below in rows:
                for right in columns:
                    grid[below][right] = text
    return markdown_table(grid)


def _assemble(path: Path, slides: list[tuple[str, str]], core_title: str) -> Document:
    parts: list[str] = []
    pages: list[PageSpan] = []
    marks: list[HeadingMark] = []
    empty: list[int] = []
    offset = 0
    for number, (title, text) in enumerate(slides, start=1):
        if count_word_chars(text) == 0:
            empty.append(number)
            continue
        if parts:
            offset += len(PAGE_SEPARATOR)
        pages.append(PageSpan(number, offset, offset + len(text)))
        marks.append(HeadingMark(offset, (title,) if title else ()))
        parts.append(text)
        offset += len(text)
    if not pages:
        raise NoTextError(path, f"none of its {len(slides)} slides has text")
    warnings: tuple[str, ...] = ()
    if empty:
        listed = ", ".join(map(str, empty))
        warnings = (f"slides {listed} of {len(slides)}: no text",)
    first_title = next((t for t, _ in slides if t), "")
    return Document(
        source_path=str(path),
        source_key=str(path),
        title=core_title or first_title or path.stem,
        text=PAGE_SEPARATOR.join(parts),
        pages=tuple(pages),
        headings=tuple(marks),
        metadata={"format": "pptx", "page_count": str(len(slides))},
        warnings=warnings,
    )
