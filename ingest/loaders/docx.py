"""Word (.docx) loader on python-docx: the body's paragraphs and tables in order.

Paragraphs styled "Heading 1" to "Heading 9" (or styles based on them, or
with an outline level, as localised and custom heading styles have) give the
heading path, as `#` headings do in Markdown. Tables become Markdown tables at
their place (`ingest.tables`), a merged cell copied into each column and row
it covers, as python-docx reports it; a table inside a cell is read as that
cell's text. Headers, footers, footnotes and comments are left out: they
repeat on every page or sit beside the text. A .docx has no fixed pages, so
its chunks cite no page numbers.

The title is the document's Title property, else its first "Title"-styled
paragraph, else its first heading, else the file name.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docx
from docx.document import Document as WordDocument
from docx.exceptions import PythonDocxError
from docx.opc.exceptions import OpcError
from docx.styles.style import CharacterStyle
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from ingest.cleaning import count_word_chars, normalize_text
from ingest.loaders.limits import TextBudget
from ingest.loaders.office import PARSE_ERRORS, corrupt, open_package
from ingest.tables import markdown_table
from rag.documents import Document, HeadingMark
from rag.errors import CorruptFileError, EmptyFileError
from rag.settings import IngestSettings

BLOCK_SEPARATOR = "\n\n"
_ERRORS: tuple[type[Exception], ...] = (*PARSE_ERRORS, PythonDocxError, OpcError)
_HEADING_STYLE = re.compile(r"^heading ([1-9])$", re.IGNORECASE)
# Word's tables have at most 63 columns; a cell claiming to span more is hostile
# (python-docx would list it once per column spanned).
MAX_GRID_SPAN = 63
# Base styles followed to find a heading level (Word itself stops at a loop).
MAX_STYLE_DEPTH = 10


@dataclass(frozen=True)
class Block:
    text: str
    level: int = 0  # 1..9 for a heading
    title: bool = False  # styled "Title"


class DocxLoader:
    suffixes = (".docx",)

    def load(self, path: Path, settings: IngestSettings) -> Iterator[Document]:
        yield _load(path, settings)


def _load(path: Path, settings: IngestSettings) -> Document:
    budget = TextBudget(path, settings)
    package = open_package(path, settings, "Word")
    try:
        word = docx.Document(package)
        blocks = list(_blocks(word, budget))
        core_title = normalize_text(word.core_properties.title or "")
    except _ERRORS as exc:
        raise corrupt(path, exc) from None
    text, headings = _assemble(blocks)
    if count_word_chars(text) == 0:
        raise EmptyFileError(path, "no text in its paragraphs or tables")
    return Document(
        source_path=str(path),
        source_key=str(path),
        title=core_title or _first_title(blocks) or path.stem,
        text=text,
        headings=tuple(headings),
        metadata={"format": "docx"},
    )


def _blocks(word: WordDocument, budget: TextBudget) -> Iterator[Block]:
    for number, item in enumerate(word.iter_inner_content(), start=1):
        budget.check_time(f"block {number}")
        if isinstance(item, Table):
            block = Block(_table(item, budget))  # counted row by row as it is read
        else:
            style = item.style
            block = Block(
                normalize_text(item.text),
                level=_heading_level(style),
                title=style is not None and style.name == "Title",
            )
            budget.take(len(block.text))
        if block.text:
            yield block


def _heading_level(style: CharacterStyle | None) -> int:
    """1..9 for a heading style (by its name or outline level, or those of the
    style it is based on), else 0."""
    for _ in range(MAX_STYLE_DEPTH):
        if style is None:
            return 0
        match = _HEADING_STYLE.match(style.name or "")
        if match:
            return int(match.group(1))
        outline = style.element.xpath("./w:pPr/w:outlineLvl/@w:val")
        if outline and str(outline[0]).isdigit() and int(outline[0]) < 9:
            return int(outline[0]) + 1  # 9 is body text
        style = style.base_style
    return 0


def _table(table: Table, budget: TextBudget) -> str:
    spans = [str(s) for s in table._tbl.xpath(".//w:gridSpan/@w:val")]  # not public
    widest = max((int(s[:7]) for s in spans if s.isdigit()), default=1)  # 7 digits: enough
    if widest > MAX_GRID_SPAN:
        path = budget.path
        detail = f"a table cell spans {widest:,} columns or more (Word allows {MAX_GRID_SPAN})"
        raise CorruptFileError(path, detail)
    rows = []
    for row in table.rows:
        cells = [""] * row.grid_cols_before + [_cell_text(cell) for cell in row.cells]
        budget.take(sum(len(c) + 3 for c in cells))
        rows.append(cells)
    return markdown_table(rows)


def _cell_text(cell: _Cell) -> str:
    """A cell's paragraphs and nested tables as one line of text."""
    parts: list[str] = []
    for item in cell.iter_inner_content():
        if isinstance(item, Paragraph):
            parts.append(item.text)
        else:
            parts.extend(_cell_text(cell) for row in item.rows for cell in row.cells)
    return normalize_text(" ".join(p for p in parts if p.strip()))


def _assemble(blocks: list[Block]) -> tuple[str, list[HeadingMark]]:
    pieces: list[str] = []
    marks: list[HeadingMark] = []
    stack: list[tuple[int, str]] = []
    offset = 0
    for block in blocks:
        if block.level:
            stack = [(lvl, name) for lvl, name in stack if lvl < block.level]
            stack.append((block.level, block.text.replace("\n", " ")))
            marks.append(HeadingMark(offset, tuple(name for _, name in stack)))
        pieces.append(block.text)
        offset += len(block.text) + len(BLOCK_SEPARATOR)
    return BLOCK_SEPARATOR.join(pieces), marks


def _first_title(blocks: list[Block]) -> str:
    styled = next((b.text for b in blocks if b.title), "")
    heading = next((b.text for b in sorted(blocks, key=lambda b: b.level or 10) if b.level), "")
    return (styled or heading).replace("\n", " ")
