"""PDFium's characters as text: what its text layer needs beyond the loader's cleaning.

Two things of PDFium's own are undone here, so that the two parsers agree
(tests/ingest/test_pdf_pdfium.py):

- glyphs it could not map to Unicode are dropped: a symbol font without a
  ToUnicode map comes out as its raw codes ("0" for a prime, Latin letters
  for Arabic ones), where pypdf writes nothing;
- a line-end hyphen it joins to the next line comes out as U+FFFE with the
  line break removed; it is written back as "-\\n", so that
  `join_hyphenated` joins "hyphen-\\nated" and keeps "S-\\nPlus" as for pypdf.

`plain_text` takes PDFium's text in one call; `read_chars` reads it a
character at a time with each one's place, for the table finder (about
four times slower: only on pages with a table).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

# PDFium's mark for a hyphen it joined at a line end: U+FFFE in its text, 0x02
# as the character itself.
_JOINED_HYPHEN = "\ufffe"
_JOINED_HYPHEN_CHAR = "\x02"


def plain_text(textpage: pdfium.PdfTextPage) -> str:
    """The page's text as PDFium lays it out, unmapped glyphs dropped."""
    raw, count = textpage.raw, textpage.count_chars()
    has_error = pdfium_c.FPDFText_HasUnicodeMapError
    unmapped = [i for i in range(count) if has_error(raw, i)]
    text = str(textpage.get_text_range())
    if unmapped:
        text = _without(text, raw, count, unmapped)
    return text.replace(_JOINED_HYPHEN, "-\n")


def _without(text: str, raw: Any, count: int, chars: list[int]) -> str:
    """`text` less the characters `chars` (indices on the text page), found
    by their places in it: UTF-16 code units from the first one written."""
    place = pdfium_c.FPDFText_GetTextIndexFromCharIndex
    first = next((t for i in range(count) if (t := place(raw, i)) >= 0), 0)
    drop = {place(raw, i) - first for i in chars}
    data = text.encode("utf-16-le", "surrogatepass")
    kept = b"".join(data[2 * k : 2 * k + 2] for k in range(len(data) // 2) if k not in drop)
    return kept.decode("utf-16-le", "replace")


Rect = tuple[float, float, float, float]  # left, bottom, right, top: page space


@dataclass(frozen=True)
class PageChars:
    """PDFium's characters of one page, in its text's order: UTF-16 code units
    (a character outside the BMP takes two), and each one's loose box (the
    font's full height, as pdfplumber's) in page space, None for a space or
    line break PDFium inserted."""

    units: list[int]
    boxes: list[Rect | None]

    def text(self, indices: Iterable[int]) -> str:
        return units_text([self.units[i] for i in indices])


def units_text(units: list[int]) -> str:
    text = "".join(map(chr, units)).encode("utf-16-le", "surrogatepass")
    return text.decode("utf-16-le", "replace").replace(_JOINED_HYPHEN_CHAR, "-\n")


def read_chars(textpage: pdfium.PdfTextPage) -> PageChars:
    """The text page's characters as `get_text_range` writes them, less those
    PDFium could not map to Unicode, each with its place."""
    raw = textpage.raw
    unicode, has_error = pdfium_c.FPDFText_GetUnicode, pdfium_c.FPDFText_HasUnicodeMapError
    generated, loose_box = pdfium_c.FPDFText_IsGenerated, pdfium_c.FPDFText_GetLooseCharBox
    box = pdfium_c.FS_RECTF()
    pointer = ctypes.byref(box)
    units: list[int] = []
    boxes: list[Rect | None] = []
    for i in range(textpage.count_chars()):
        unit = unicode(raw, i)
        if unit == 0 or has_error(raw, i):
            continue
        units.append(unit)
        placed = not generated(raw, i) and loose_box(raw, i, pointer)
        boxes.append((box.left, box.bottom, box.right, box.top) if placed else None)
    return PageChars(units, boxes)
