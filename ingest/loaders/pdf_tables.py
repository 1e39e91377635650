"""Tables ruled with lines on a PDF page, as Markdown tables in its text.

Finding (`pdf_grid`): pdfplumber's table finder on PDFium's geometry, and
PDFium's characters for the cells. pdfplumber's own `find_tables`, which
parses the page with pdfminer (pure Python), costs 61 ms a page on
debian/reportlab-userguide.pdf and 150 to 340 ms on the table PDFs of
pdfplumber-tests, where PDFium's whole text layer costs 3 and 10 to 17 ms:
on every page it would make PDF parsing 5 to 20 times slower, so it is not
used. As done here, only on pages drawing at least `MIN_RULINGS` segments
(counted in their content by `pdf_content`; 249 of the 485 pages in
../shared/pdfs; 97 tables on 76), the 485 pages take 3.9 s instead of 2.0 s
(pypdf alone: 9.5 s); a page with a table 25 to 55 ms more. Parsing runs
beside the embedding, which takes longer still, and `ingest.pdf_tables`
turns it off.

Which grids are tables: at least two rows and two columns, text in two
columns and in half the cells, a header naming two columns or more, and
letters or digits in two cells a row on average. Grids of a plot or diagram
(empty, or holding tick labels or marks) and boxes round a paragraph stay
text. How a grid's cells become rows: `pdf_table_rows`.

Placement. Each character of the page whose centre falls in a table's cell is
taken out of the page's text; the table is written where its first character
was, between blank lines, so it keeps its place in the reading order.
"""

from __future__ import annotations

import itertools

import pypdfium2 as pdfium

from ingest.cleaning import count_word_chars
from ingest.loaders.pdf_chars import PageChars, plain_text, read_chars
from ingest.loaders.pdf_grid import Box, Frame, Grid, find_grids
from ingest.loaders.pdf_table_rows import table_rows
from ingest.tables import markdown_table

# The fewest segments that rule a table of two rows and two columns: four
# rectangles, or three lines each way.
MIN_RULINGS = 4
MIN_FILLED = 0.5


def text_with_tables(page: pdfium.PdfPage, textpage: pdfium.PdfTextPage) -> str:
    """The page's text with each table found on it as a Markdown table."""
    frame = Frame.of(page)
    grids = [g for g in find_grids(page, frame) if _has_text(g, textpage, frame)]
    if not grids:
        return plain_text(textpage)
    chars = read_chars(textpage)
    boxes = [frame.box(rect) if rect else None for rect in chars.boxes]
    owners = _owners(grids, boxes)
    tables = []
    for t, grid in enumerate(grids):
        cell_chars = _cell_chars(owners, t, len(grid.cells))
        tables.append(_table(grid, cell_chars, chars, boxes))
    return _flow(chars, owners, tables)


def _table(
    grid: Grid, cell_chars: list[list[int]], chars: PageChars, boxes: list[Box | None]
) -> str:
    """The grid as a Markdown table (its caption above), or "" if it is not one."""
    if not _filled(grid, cell_chars):
        return ""
    caption, rows = table_rows(grid, cell_chars, chars, boxes)
    if len(rows) < 2 or sum(map(bool, rows[0])) < 2:
        return ""
    if sum(count_word_chars(cell) > 0 for row in rows for cell in row) < 2 * len(rows):
        return ""
    table = markdown_table(rows)
    return f"{caption}\n\n{table}" if caption and table else table


def _has_text(grid: Grid, textpage: pdfium.PdfTextPage, frame: Frame) -> bool:
    """Whether PDFium finds at least one character for every two of the grid's
    cells inside it: a quick test, before the page's characters are read one
    by one, that rules out grids drawn empty (plots, diagrams)."""
    text = textpage.get_text_bounded(*frame.rect(grid.bbox))
    return sum(not ch.isspace() for ch in text) >= MIN_FILLED * len(grid.cells)


Owner = tuple[int, int | None]  # table, and cell (None: between cells of the table)


def _owners(grids: list[Grid], boxes: list[Box | None]) -> list[Owner | None]:
    """The table cell of each character; an inserted space or line break goes
    with the characters either side when they are in the same table."""
    owners: list[Owner | None] = [None] * len(boxes)
    for i, box in enumerate(boxes):
        if box is None:
            continue
        center = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        for t, grid in enumerate(grids):
            k = grid.cell_at(center)
            if k is not None:
                owners[i] = (t, k)
                break
    real = [i for i, box in enumerate(boxes) if box is not None]
    for before, after in itertools.pairwise(real):
        a, b = owners[before], owners[after]
        if a is not None and b is not None and a[0] == b[0]:
            for i in range(before + 1, after):
                owners[i] = a if a == b else (a[0], None)
    return owners


def _cell_chars(owners: list[Owner | None], table: int, cells: int) -> list[list[int]]:
    found: list[list[int]] = [[] for _ in range(cells)]
    for i, owner in enumerate(owners):
        if owner is not None and owner[0] == table and owner[1] is not None:
            found[owner[1]].append(i)
    return found


def _filled(grid: Grid, cell_chars: list[list[int]]) -> bool:
    """At least two rows and columns, text in two columns and half the cells."""
    held = [k for k, indices in enumerate(cell_chars) if indices]
    columns = {grid.spans[k][2] for k in held}
    if len(grid.tops) < 2 or len(grid.xs) < 2 or len(columns) < 2:
        return False
    return len(held) >= MIN_FILLED * len(grid.cells)


def _flow(chars: PageChars, owners: list[Owner | None], tables: list[str]) -> str:
    """The page's text: characters outside the tables, each table at the place
    of its first character."""
    pieces: list[str] = []
    run: list[int] = []
    placed: set[int] = set()
    for i, owner in enumerate(owners):
        if owner is None or not tables[owner[0]]:
            run.append(i)
        elif owner[0] not in placed:
            placed.add(owner[0])
            pieces += [chars.text(run), f"\n\n{tables[owner[0]]}\n\n"]
            run = []
    pieces.append(chars.text(run))
    return "".join(pieces)
