"""HTML `<table>` elements as Markdown tables.

A cell spanning several columns or rows is copied into each of them, as
pandas' `read_html` does: every row then reads on its own ("North" in each row
of a region spanning three), which is what a chunk holding some of the rows
needs. The header is the `<thead>` rows, merged column by column when there are
several ("2023" over "Q1" gives "2023 Q1"), else the first row.

Copies are the one way a table grows beyond its file: `colspan` is capped at
1,000 and `rowspan` at the rows left (HTML's own limits are 1,000 and 65,534),
and every copied or padded cell counts against `ingest.max_document_chars`, so
a small file cannot render to gigabytes.

Tables used for layout (role="presentation", one cell, or a table inside a
cell) are not data: their cells are read as ordinary blocks.
"""

from __future__ import annotations

from bs4 import Tag

from ingest.cleaning import normalize_text
from ingest.loaders.limits import TextBudget
from ingest.tables import markdown_table

MAX_COLSPAN = 1000


def is_data_table(table: Tag) -> bool:
    if table.get("role") in ("presentation", "none") or table.find("table") is not None:
        return False
    return len(table.find_all(("td", "th"), limit=2)) > 1


def render_table(table: Tag, budget: TextBudget) -> str:
    """The table as a Markdown table (its caption, if any, on the line above)."""
    rows = _own_rows(table)
    grid = _grid(rows, budget)
    head = sum(1 for tr in rows if tr.parent is not None and tr.parent.name == "thead")
    body = markdown_table([_merged_header(grid[:head]), *grid[head:]] if head else grid)
    caption = table.find("caption")
    title = normalize_text(" ".join(caption.stripped_strings)) if caption else ""
    return f"{title}\n\n{body}" if title and body else body or title


def _own_rows(table: Tag) -> list[Tag]:
    """The table's rows, `<thead>` rows first, without rows of nested tables."""
    rows = [tr for tr in table.find_all("tr") if tr.find_parent("table") is table]
    return sorted(rows, key=lambda tr: tr.parent is None or tr.parent.name != "thead")


def _grid(rows: list[Tag], budget: TextBudget) -> list[list[str]]:
    """Cell texts placed by their spans; every row as wide as the widest."""
    grid: list[list[str | None]] = [[] for _ in rows]
    for r, tr in enumerate(rows):
        column = 0
        for cell in tr.find_all(("td", "th"), recursive=False):
            while column < len(grid[r]) and grid[r][column] is not None:
                column += 1  # taken by a cell spanning down from a row above
            text = normalize_text(" ".join(cell.stripped_strings))
            width = _span(cell, "colspan", MAX_COLSPAN)
            height = _span(cell, "rowspan", len(rows) - r)
            budget.take((len(text) + 3) * (width * height - 1))
            for below in grid[r : r + height]:
                below.extend([None] * (column + width - len(below)))
                below[column : column + width] = [text] * width
            column += width
    width = max((len(row) for row in grid), default=0)
    budget.take(3 * sum(width - len(row) for row in grid))
    return [[c or "" for c in row] + [""] * (width - len(row)) for row in grid]


def _span(cell: Tag, name: str, cap: int) -> int:
    value = str(cell.get(name) or "1").strip()
    if not value.isdigit() or len(value) > 6:  # int() refuses over 4,300 digits
        return cap if value.isdigit() else 1
    return min(max(int(value), 1), cap)


def _merged_header(rows: list[list[str]]) -> list[str]:
    """Header rows as one: per column its distinct texts, top to bottom."""
    merged = []
    for column in zip(*rows, strict=True):
        parts = [text for i, text in enumerate(column) if text and text not in column[:i]]
        merged.append(" ".join(parts))
    return merged
