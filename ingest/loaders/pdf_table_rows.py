"""A table's cells, holding PDFium's characters, as the rows of a Markdown table.

- Caption. Leading rows of one cell across the whole grid are a caption,
  written above the table.
- Header. The next row, with the rows its cells reach down into, merged
  column by column ("OBLIGATION/SERVICE DATES" over "START" heads its column
  "OBLIGATION/SERVICE DATES START"), as `html_tables` merges `<thead>` rows.
  It is never split into records: header cells often wrap over several lines.
- Columns inside a cell. A cell across several columns may hold those
  columns' text: a box ruled only round the outside, sub-headings under a
  group heading. It does when its columnar lines (no word crossing from one
  column to the next, words in two columns `COLUMN_GAP` apart) put text in
  two or more columns and, in the body, are
  at least three in four of its lines (a paragraph's are not); its words are
  then dealt to the column each starts in.
  In the header, its other lines (a word across columns, or text in one column
  only) are group headings, heading each column ("Rentals Handgun", "Rentals
  Long Gun"). A cell that does not is one text: it heads each of its columns,
  and in the body is written once.
- Records. A ruled body row whose cells hold several lines, each starting in
  two or more columns at one height, is that many rows (reports rule only
  every fifth row, or only the box round the body); a line in one column only
  continues the row above it.
- A cell spanning several rows is copied into each, as `html_tables` copies
  a rowspan, as long as the copies at most double the table's text.
- Within a cell lines read top to bottom; characters more than `GAP` apart on
  a line are words apart.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from ingest.cleaning import join_hyphenated, normalize_text
from ingest.loaders.pdf_chars import PageChars, units_text
from ingest.loaders.pdf_grid import Box, Grid

# pdfplumber's x_tolerance and y_tolerance for words and lines, in points.
GAP = 3.0
LINE = 3.0
# Words in two columns of one cell are at least this far apart (a space between
# words of one text is about a quarter of the font size).
COLUMN_GAP = 2 * GAP
COLUMNAR = 0.75
_SPACES = frozenset((0x09, 0x0A, 0x0D, 0x20, 0xA0, 0x3000))

Band = tuple[float, float]  # top and bottom of one record's lines


def table_rows(
    grid: Grid, cell_chars: list[list[int]], chars: PageChars, boxes: list[Box | None]
) -> tuple[str, list[list[str]]]:
    """The caption ("" if none) and the rows, header first."""
    top = 0
    while top < len(grid.tops) and len(set(grid.at[top])) == 1 and grid.at[top][0] is not None:
        top += 1  # a row of one cell across the grid
    header = grid.at[top] if top < len(grid.tops) else ()
    body = max((grid.spans[k][1] for k in set(header) if k is not None), default=top + 1)
    table = _Table(grid, cell_chars, chars, boxes, body)
    lines = dict.fromkeys(table.cell_text(grid.at[r][0]) for r in range(top))
    caption = "\n".join(filter(None, lines))
    if top == len(grid.tops):
        return caption, []
    rows = [[table.heading(c, range(top, body)) for c in range(len(grid.xs))]]
    for r in range(body, len(grid.tops)):
        rows += table.body_rows(r)
    return caption, rows


@dataclass(frozen=True)
class _Dealt:
    columns: dict[int, list[int]]  # column: the cell's characters in it
    headings: frozenset[int]  # characters of lines that head all the cell's columns


class _Table:
    def __init__(
        self,
        grid: Grid,
        cell_chars: list[list[int]],
        chars: PageChars,
        boxes: list[Box | None],
        body: int,
    ) -> None:
        self._grid = grid
        self._body = body  # the first row after the header
        self._cells = cell_chars
        self._units = chars.units
        self._boxes = boxes
        self._copies_left = sum(map(len, cell_chars))
        wide = [k for k, span in enumerate(grid.spans) if span[3] - span[2] > 1]
        self._dealt = {k: dealt for k in wide if (dealt := self._deal(k)) is not None}

    def cell_text(self, k: int | None) -> str:
        return self.text(self._cells[k]) if k is not None else ""

    def heading(self, column: int, rows: Iterable[int]) -> str:
        """The header of `column`: its cells in the header rows, top to bottom."""
        parts: list[str] = []
        for r in rows:
            k = self._grid.at[r][column]
            if k is None:
                continue
            dealt = self._dealt.get(k)
            if dealt is None:
                text = self.cell_text(k)
            else:
                own = [i for i in dealt.columns.get(column, []) if i not in dealt.headings]
                text = self.text([*own, *dealt.headings])
            if text and (not parts or parts[-1] != text):
                parts.append(text)
        return " ".join(parts)

    def body_rows(self, r: int) -> list[list[str]]:
        """Ruled row `r` as one row, or as the records its lines hold."""
        own: dict[int, list[int]] = {}  # column: characters of cells starting in this row
        above: dict[int, str] = {}  # column: text of a cell reaching down from a row above
        for c, k in enumerate(self._grid.at[r]):
            indices = self._column(k, c) if k is not None else None
            if k is None or indices is None:
                continue
            if self._grid.spans[k][0] == r:
                own[c] = indices
            else:
                above[c] = self._copy(self.text(indices))
        bands: list[Band | None] = [*self._records(own)] or [None]
        rows = []
        for band in bands:
            row = []
            for c in range(len(self._grid.xs)):
                if c in own:
                    row.append(self.text(self._within(own[c], band)))
                else:
                    row.append(above.get(c, ""))
            rows.append(row)
        return rows

    def _column(self, k: int, c: int) -> list[int] | None:
        """Cell `k`'s characters that column `c` writes: all of them in its first
        column when they are one text (None in the others), else those dealt to `c`."""
        dealt = self._dealt.get(k)
        if dealt is not None:
            return dealt.columns.get(c, [])
        return self._cells[k] if c == self._grid.spans[k][2] else None

    def _copy(self, text: str) -> str:
        if len(text) > self._copies_left:
            return ""
        self._copies_left -= len(text)
        return text

    def _deal(self, k: int) -> _Dealt | None:
        """Cell `k`'s characters dealt to its columns, or None if they are one text."""
        column_of: dict[int, int] = {}
        columnar: list[list[int]] = []
        others: list[list[int]] = []
        for line in self._lines(self._cells[k]):
            crossing, before, end = False, None, float("-inf")
            for word in self._words(line):
                placed = [box for i in word if (box := self._boxes[i]) is not None]
                first, last = self._column_under(k, placed[0]), self._column_under(k, placed[-1])
                moved = before is not None and first != before
                crossing = crossing or first != last or (moved and placed[0][0] - end < COLUMN_GAP)
                column_of.update(dict.fromkeys(word, first))
                before, end = last, placed[-1][2]
            (others if crossing else columnar).append(line)
        filled = {column_of[i] for line in columnar for i in line if i in column_of}
        prose = len(columnar) < COLUMNAR * (len(columnar) + len(others))
        if len(filled) < 2 or (prose and self._grid.spans[k][0] >= self._body):
            return None
        for line in columnar:
            if len({column_of[i] for i in line if i in column_of}) == 1:
                others.append(line)  # text in one column only: a heading in the header
        columns: dict[int, list[int]] = {}
        first_column = self._grid.spans[k][2]
        for i in self._cells[k]:
            columns.setdefault(column_of.get(i, first_column), []).append(i)
        return _Dealt(columns, frozenset(itertools.chain.from_iterable(others)))

    def _column_under(self, k: int, box: Box) -> int:
        _, _, c0, c1 = self._grid.spans[k]
        column = bisect.bisect_right(self._grid.xs, (box[0] + box[2]) / 2) - 1
        return min(max(column, c0), c1 - 1)

    def _words(self, line: list[int]) -> list[list[int]]:
        """A line's words: runs of characters without a space or a gap between
        them; a space goes with the word before it."""
        words: list[list[int]] = []
        last: Box | None = None
        split = True
        for i in line:
            box = self._boxes[i]
            if box is None or self._units[i] in _SPACES:
                if words:
                    words[-1].append(i)
                split = True
                continue
            if split or (last is not None and box[0] - last[2] > GAP):
                words.append([])
            words[-1].append(i)
            last, split = box, False
        return words

    def _records(self, own: dict[int, list[int]]) -> list[Band]:
        """Bands of height splitting one ruled row into the rows it holds, or []
        when it holds one: a line starting in two or more columns starts a row."""
        placed = sorted(
            (self._middle(i), c)
            for c, indices in own.items()
            for i in indices
            if self._boxes[i] is not None
        )
        lines: list[tuple[float, float, set[int]]] = []  # top, bottom, columns
        for y, c in placed:
            if lines and y - lines[-1][1] <= LINE:
                top, _, columns = lines[-1]
                lines[-1] = (top, y, columns | {c})
            else:
                lines.append((y, y, {c}))
        starts = [n for n, line in enumerate(lines) if len(line[2]) >= 2]
        if len(starts) < 2:
            return []
        cuts = [(lines[n - 1][1] + lines[n][0]) / 2 for n in starts[1:]]
        return list(itertools.pairwise([float("-inf"), *cuts, float("inf")]))

    def _within(self, indices: list[int], band: Band | None) -> list[int]:
        """The characters in `band`; a space or line break goes with the character before it."""
        if band is None:
            return indices
        inside, keep = [], False
        for i in indices:
            if self._boxes[i] is not None:
                keep = band[0] <= self._middle(i) < band[1]
            if keep:
                inside.append(i)
        return inside

    def _middle(self, i: int) -> float:
        box = self._boxes[i]
        return (box[1] + box[3]) / 2 if box else 0.0

    def text(self, indices: Iterable[int]) -> str:
        lines = [self._line_text(line) for line in self._lines(list(indices))]
        return join_hyphenated(normalize_text("\n".join(lines)))

    def _lines(self, indices: list[int]) -> list[list[int]]:
        """`indices` by line, top to bottom, each line in PDFium's order; a
        space or line break goes with the character before it."""
        real = sorted((self._middle(i), i) for i in indices if self._boxes[i] is not None)
        line_of: dict[int, int] = {}
        last = float("-inf")
        count = 0
        for y, i in real:
            if y - last > LINE:
                count += 1
            line_of[i] = count - 1
            last = y
        lines: list[list[int]] = [[] for _ in range(count)]
        current = 0
        for i in sorted(indices):
            current = line_of.get(i, current)
            if lines:
                lines[current].append(i)
        return lines

    def _line_text(self, line: list[int]) -> str:
        units: list[int] = []
        last: Box | None = None
        for i in line:
            box = self._boxes[i]
            gap = box is not None and last is not None and box[0] - last[2] > GAP
            if gap and units and units[-1] not in _SPACES and self._units[i] not in _SPACES:
                units.append(0x20)
            units.append(self._units[i])
            last = box or last
        return units_text(units)
