"""Tables as Markdown pipe tables: rendered by the loaders, found again by the chunkers.

Every loader that meets a table (an HTML `<table>`, a Word or PowerPoint table,
a table found on a PDF page) writes it into the document text with
`markdown_table`, at its place. The chunkers then find tables in any
document's text with `find_tables`, whatever its format, and keep a table's
header row with the rows it holds.

Rendering is the GitHub-flavoured form: a header row, a `| --- |` delimiter
row, one line per row, outer pipes always written. A cell's line breaks and
runs of whitespace become one space and its `|` is escaped as `\\|`, so a row
is always one line; ragged rows are padded with empty cells. The output is
left unchanged by `ingest.cleaning.normalize_text` (no double spaces, no
leading or trailing space on a line).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

_WHITESPACE = re.compile(r"\s+")
# A delimiter row: cells of dashes with optional alignment colons, at least one pipe.
_DELIMITER_CELL = re.compile(r"^:?-+:?$")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_FENCE = re.compile(r"^(```|~~~)")

Cell = str | None


def markdown_table(rows: Sequence[Sequence[Cell]]) -> str:
    """`rows` (the first is the header) as a Markdown pipe table; "" when there
    is no cell with text. Missing (None) cells are empty; body rows with no text
    at all are left out (PDF table finders report ruling gaps as such rows)."""
    cleaned = [[_cell(c) for c in row] for row in rows]
    width = max((len(row) for row in cleaned), default=0)
    if width == 0 or not any(any(row) for row in cleaned):
        return ""
    header, *body = (row + [""] * (width - len(row)) for row in cleaned)
    lines = [_row(header), "|" + " --- |" * width]
    lines.extend(_row(row) for row in body if any(row))
    return "\n".join(lines)


def _cell(value: Cell) -> str:
    text = _WHITESPACE.sub(" ", value or "").strip()
    return text.replace("|", "\\|")


def _row(cells: Sequence[str]) -> str:
    return "|" + "".join(f" {c} |" if c else " |" for c in cells)


def parse_row(line: str) -> list[str]:
    """The cells of one table line, outer pipes dropped and `\\|` unescaped."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    return [c.strip().replace("\\|", "|") for c in _UNESCAPED_PIPE.split(line)]


@dataclass(frozen=True)
class TableSpan:
    """A pipe table found in a text: `text[start:end]` is all of it,
    `text[start:header_end]` its header and delimiter rows (the two lines a
    piece of the table repeats), `rows` the character spans of its body rows."""

    start: int
    header_end: int
    end: int
    rows: tuple[tuple[int, int], ...]
    header: tuple[str, ...]


def find_tables(text: str) -> list[TableSpan]:
    """The pipe tables of `text` in order, outside fenced code blocks. A table
    is a header line, a delimiter row with as many cells (GFM's rule), and the
    lines that follow it up to the first one without a pipe."""
    if "|" not in text:
        return []
    lines = list(_lines(text))
    tables: list[TableSpan] = []
    i, fenced = 0, False
    while i + 1 < len(lines):
        start, end = lines[i]
        line = text[start:end]
        if _FENCE.match(line.lstrip()):
            fenced = not fenced
        elif not fenced and (table := _table_at(text, lines, i)) is not None:
            tables.append(table)
            i += 2 + len(table.rows)
            continue
        i += 1
    return tables


def _table_at(text: str, lines: list[tuple[int, int]], i: int) -> TableSpan | None:
    head, delimiter = (text[a:b] for a, b in lines[i : i + 2])
    if "|" not in head or not _is_delimiter(delimiter):
        return None
    header = parse_row(head)
    if len(header) != len(parse_row(delimiter)):
        return None
    rows = []
    for a, b in lines[i + 2 :]:
        if "|" not in text[a:b]:
            break
        rows.append((a, b))
    end = rows[-1][1] if rows else lines[i + 1][1]
    return TableSpan(lines[i][0], lines[i + 1][1], end, tuple(rows), tuple(header))


def _is_delimiter(line: str) -> bool:
    if "|" not in line:
        return False
    return all(_DELIMITER_CELL.match(c) for c in parse_row(line))


def _lines(text: str) -> Iterator[tuple[int, int]]:
    """Start and end (without the newline, nor leading/trailing whitespace) of each line."""
    cursor = 0
    for line in text.split("\n"):
        stripped = line.strip()
        offset = cursor + (line.find(stripped) if stripped else 0)
        yield offset, offset + len(stripped)
        cursor += len(line) + 1


def normalize_tables(text: str) -> str:
    """`text` with each pipe table rewritten by `markdown_table` (outer pipes,
    padded rows, one space around each cell); the rest is unchanged. A table
    whose padding would more than double it (one row of 100,000 pipes among
    many short ones) is left as written: the text may not grow past its bounds."""
    pieces: list[str] = []
    cursor = 0
    for table in find_tables(text):
        rows = [list(table.header), *(parse_row(text[a:b]) for a, b in table.rows)]
        written = text[table.start : table.end]
        width = max(len(row) for row in rows)
        padding = 2 * sum(width - len(row) for row in rows)
        rendered = markdown_table(rows) if padding <= len(written) else ""
        pieces += [text[cursor : table.start], rendered or written]
        cursor = table.end
    return "".join([*pieces, text[cursor:]])
