"""Ruled grids on a PDF page: pdfplumber's table finder on PDFium's geometry.

pdfplumber's "lines" strategy (ruling lines snapped, joined and intersected
into cells, as Tabula does) is given the straight segments of the page's
paths, forms included, read from PDFium. Coordinates are the page as shown
(`Frame`): turned by its /Rotate, y down, as pdfplumber's are.
"""

from __future__ import annotations

import bisect
import ctypes
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfplumber.table import cells_to_tables, edges_to_intersections, merge_edges
from pdfplumber.utils.geometry import filter_edges

from ingest.loaders.pdf_chars import Rect

# pdfplumber's defaults (TableSettings), in points.
SNAP, JOIN, MIN_LENGTH, CROSSING = 3, 3, 3, 3
# Bounds on the work for one page: a page past them is a drawing, not a table
# (a real table of 60 rows by 30 columns has about 90 ruling lines and 1,900
# crossings; pdfplumber's cell search grows with the square of the crossings).
MAX_SEGMENTS = 50_000
MAX_EDGES = 1_000
MAX_POINTS = 4_000
# A segment within this of horizontal or vertical is a ruling line, in points.
AXIS = 0.5
# Forms nested deeper than this are not searched for rulings.
MAX_FORM_DEPTH = 16

Box = tuple[float, float, float, float]  # x0, top, x1, bottom: display space, y down
Matrix = tuple[float, float, float, float, float, float]
Point = tuple[float, float]


@dataclass(frozen=True)
class Frame:
    """The page as shown: page space (PDF units, y up) turned by the page's
    /Rotate and flipped to y down, from the crop box's top left corner."""

    matrix: Matrix  # page space to display space
    inverse: Matrix

    @classmethod
    def of(cls, page: pdfium.PdfPage) -> Frame:
        left, bottom, right, top = page.get_cropbox()
        width, height = right - left, top - bottom
        matrix = {
            90: (0.0, 1.0, 1.0, 0.0, -bottom, -left),
            180: (-1.0, 0.0, 0.0, 1.0, left + width, -bottom),
            270: (0.0, -1.0, -1.0, 0.0, bottom + height, left + width),
        }.get(page.get_rotation() % 360, (1.0, 0.0, 0.0, -1.0, -left, bottom + height))
        return cls(matrix, _invert(matrix))

    def box(self, rect: Rect) -> Box:
        """A rectangle in page space (left, bottom, right, top) as a display box
        (the frame only turns by right angles: two corners tell)."""
        a, b, c, d, e, f = self.matrix
        x0, y0 = a * rect[0] + c * rect[1] + e, b * rect[0] + d * rect[1] + f
        x1, y1 = a * rect[2] + c * rect[3] + e, b * rect[2] + d * rect[3] + f
        return min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)

    def rect(self, box: Box) -> Rect:
        """A display box as a rectangle in page space."""
        x0, y0, x1, y1 = _bounds(self.inverse, box)
        return x0, y0, x1, y1


def _bounds(m: Matrix, box: Box) -> Box:
    """The smallest upright box holding `box` mapped by `m`, as min x, min y,
    max x, max y."""
    corners = [_apply(m, x, y) for x in box[::2] for y in box[1::2]]
    xs, ys = [p[0] for p in corners], [p[1] for p in corners]
    return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class Grid:
    """A table's cells; `at[row][column]` is the cell covering that place,
    `spans[cell]` its first and past-last row and column."""

    cells: tuple[Box, ...]
    xs: tuple[float, ...]  # column lefts
    tops: tuple[float, ...]  # row tops
    at: tuple[tuple[int | None, ...], ...]
    spans: tuple[tuple[int, int, int, int], ...]
    bbox: Box

    @classmethod
    def of(cls, cells: list[Box]) -> Grid:
        xs = tuple(sorted({c[0] for c in cells}))
        tops = tuple(sorted({c[1] for c in cells}))
        at: list[list[int | None]] = [[None] * len(xs) for _ in tops]
        spans = []
        for k, (x0, top, x1, bottom) in enumerate(cells):
            r0, r1 = tops.index(top), bisect.bisect_left(tops, bottom)
            c0, c1 = xs.index(x0), bisect.bisect_left(xs, x1)
            spans.append((r0, r1, c0, c1))
            for r in range(r0, r1):
                at[r][c0:c1] = [k] * (c1 - c0)
        bbox = (xs[0], tops[0], max(c[2] for c in cells), max(c[3] for c in cells))
        rows = tuple(tuple(row) for row in at)
        return cls(tuple(cells), xs, tops, rows, tuple(spans), bbox)

    def cell_at(self, point: Point) -> int | None:
        x, y = point
        if not (self.bbox[0] <= x < self.bbox[2] and self.bbox[1] <= y < self.bbox[3]):
            return None
        r, c = bisect.bisect_right(self.tops, y) - 1, bisect.bisect_right(self.xs, x) - 1
        if r < 0 or c < 0:
            return None
        k = self.at[r][c]
        if k is None:
            return None
        x0, top, x1, bottom = self.cells[k]
        return k if x0 <= x < x1 and top <= y < bottom else None


Crossings = dict[Point, dict[str, list[Any]]]  # pdfplumber's: the edges through each


def find_grids(page: pdfium.PdfPage, frame: Frame) -> list[Grid]:
    """The tables pdfplumber's "lines" strategy finds among the page's rulings."""
    points = crossings(page, frame)
    return [Grid.of(cells) for cells in cells_to_tables(intersections_to_cells(points))]


def crossings(page: pdfium.PdfPage, frame: Frame) -> Crossings:
    """Where the page's ruling lines cross, merged as pdfplumber merges them;
    none on a page past the bounds."""
    edges = _edges(page, frame)
    merged = filter_edges(merge_edges(edges, SNAP, SNAP, JOIN, JOIN), min_length=MIN_LENGTH)
    if len(merged) > MAX_EDGES:
        return {}
    points = edges_to_intersections(merged, CROSSING, CROSSING)
    return points if len(points) <= MAX_POINTS else {}


def intersections_to_cells(intersections: Crossings) -> list[Box]:
    """pdfplumber's `intersections_to_cells`: the same cells in the same order
    (tests/ingest/test_pdf_pdfium.py), without its scan of all later crossings
    for each crossing (quadratic: 0.2 s for a table of 600 crossings)."""
    points = sorted(intersections)
    ruled = {
        p: {
            o: {(e["x0"], e["top"], e["x1"], e["bottom"]) for e in intersections[p][o]}
            for o in "vh"
        }
        for p in points
    }
    below: dict[float, list[Point]] = {}  # crossings by x, top to bottom
    right: dict[float, list[Point]] = {}  # crossings by y, left to right
    for p in points:
        below.setdefault(p[0], []).append(p)
        right.setdefault(p[1], []).append(p)

    def joined(p: Point, q: Point, orientation: str) -> bool:
        return not ruled[p][orientation].isdisjoint(ruled[q][orientation])

    def smallest_cell(p: Point) -> Box | None:
        column, row = below[p[0]], right[p[1]]
        for down in column[column.index(p) + 1 :]:
            if not joined(p, down, "v"):
                continue
            for across in row[row.index(p) + 1 :]:
                if not joined(p, across, "h"):
                    continue
                corner = (across[0], down[1])
                if corner in ruled and joined(corner, across, "v") and joined(corner, down, "h"):
                    return (p[0], p[1], corner[0], corner[1])
        return None

    return [cell for p in points if (cell := smallest_cell(p)) is not None]


def _edges(page: pdfium.PdfPage, frame: Frame) -> list[dict[str, Any]]:
    """Horizontal and vertical segments of the page's paths, as pdfplumber's edges."""
    edges = []
    for n, ((x0, y0), (x1, y1)) in enumerate(_segments(page, frame.matrix)):
        if n >= MAX_SEGMENTS:
            return []
        if abs(y0 - y1) <= AXIS and abs(x1 - x0) >= 1:
            edges.append(_edge(min(x0, x1), min(y0, y1), max(x0, x1), min(y0, y1), "h"))
        elif abs(x0 - x1) <= AXIS and abs(y1 - y0) >= 1:
            edges.append(_edge(min(x0, x1), min(y0, y1), min(x0, x1), max(y0, y1), "v"))
    return edges


def _edge(x0: float, top: float, x1: float, bottom: float, orientation: str) -> dict[str, Any]:
    return {
        "x0": x0,
        "x1": x1,
        "top": top,
        "bottom": bottom,
        "doctop": top,
        "width": x1 - x0,
        "height": bottom - top,
        "orientation": orientation,
        "object_type": "line",
    }


def _segments(page: pdfium.PdfPage, frame: Matrix) -> Iterator[tuple[Point, Point]]:
    """Straight segments of every path on the page, forms included, in the
    space `frame` maps page space to."""
    x, y = ctypes.c_float(), ctypes.c_float()
    at_x, at_y = ctypes.byref(x), ctypes.byref(y)
    for path, matrix in _paths(page, frame):
        start = last = None
        for i in range(pdfium_c.FPDFPath_CountSegments(path)):
            segment = pdfium_c.FPDFPath_GetPathSegment(path, i)
            if not pdfium_c.FPDFPathSegment_GetPoint(segment, at_x, at_y):
                continue
            point = _apply(matrix, x.value, y.value)
            kind = pdfium_c.FPDFPathSegment_GetType(segment)
            if kind == pdfium_c.FPDF_SEGMENT_MOVETO:
                start = point
            elif kind == pdfium_c.FPDF_SEGMENT_LINETO and last is not None:
                yield last, point
            last = point
            if pdfium_c.FPDFPathSegment_GetClose(segment) and start is not None:
                yield point, start
                last = start


def _paths(page: pdfium.PdfPage, frame: Matrix) -> Iterator[tuple[Any, Matrix]]:
    """Each path object with the matrix from its space to the frame's."""
    count = pdfium_c.FPDFPage_CountObjects(page.raw)
    stack = [(pdfium_c.FPDFPage_GetObject(page.raw, i), frame, 0) for i in range(count)]
    stack.reverse()
    matrix = pdfium_c.FS_MATRIX()
    while stack:
        obj, outer, depth = stack.pop()
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind not in (pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_FORM):
            continue
        if not pdfium_c.FPDFPageObj_GetMatrix(obj, ctypes.byref(matrix)):
            continue
        own = _compose(outer, (matrix.a, matrix.b, matrix.c, matrix.d, matrix.e, matrix.f))
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            yield obj, own
        elif depth < MAX_FORM_DEPTH:
            inner = pdfium_c.FPDFFormObj_CountObjects(obj)
            children = [pdfium_c.FPDFFormObj_GetObject(obj, i) for i in range(inner)]
            stack.extend((child, own, depth + 1) for child in reversed(children))


def _compose(outer: Matrix, inner: Matrix) -> Matrix:
    """The matrix applying `inner`, then `outer`."""
    a, b, c, d, e, f = outer
    ia, ib, ic, id_, ie, if_ = inner
    return (
        a * ia + c * ib,
        b * ia + d * ib,
        a * ic + c * id_,
        b * ic + d * id_,
        a * ie + c * if_ + e,
        b * ie + d * if_ + f,
    )


def _apply(m: Matrix, x: float, y: float) -> Point:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _invert(m: Matrix) -> Matrix:
    a, b, c, d, e, f = m
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return ia, ib, ic, id_, -(ia * e + ic * f), -(ib * e + id_ * f)
