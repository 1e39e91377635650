"""How much content a PDF page makes PDFium interpret, measured before it does.

PDFium lays a page out in C, in one call that cannot be stopped part-way
(between operators, as pypdf's callbacks allow). So the pdfium path measures
each page first, with pypdf under its stream limits (`ingest.max_pdf_stream_mb`
holds for every stream PDFium inflates for the text: contents, forms, fonts),
and hands PDFium only pages it can bound (`pdf_pdfium`). Counted in a page's
content, each form XObject counted each time it is drawn:

- `work`: bytes of content. A form of 100 KB drawn 5,000 times is 500 MB of
  work on a 100 KB file.
- `shown`: bytes of string operands, the text the page shows (about one
  character a byte, two for CID fonts).
- `rulings`: straight path segments (`l` and `re` operators). A ruled table
  needs some; pages with fewer are not searched for one.

Forms are measured once per file, fonts inflated once and a Type 3 font's
glyph procedures measured once, on the first page using it. A form that draws
itself, forms nested deeper than `MAX_FORM_DEPTH` and a name drawn that is not
defined measure as `UNBOUNDED`.
"""

from __future__ import annotations

import re
import sys
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pypdf import PageObject
from pypdf.errors import LimitReachedError, PyPdfError
from pypdf.filters import decode_stream_data
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    StreamObject,
)

from ingest.loaders.pdf_pypdf import BROKEN

# `/Name Do` draws an XObject; `x y l` draws a line, `x y w h re` a rectangle.
_DRAW = re.compile(rb"/([^\s/\[\]()<>{}%]+)\s*Do\b")
_RULING = re.compile(rb"[\d.]\s+(?:l|re)\b")
# A literal string (one level of nested parentheses) or a hex string; possessive,
# so that a string of megabytes is matched without a backtracking stack as long.
_STRING = re.compile(rb"\((?:[^\\()]++|\\.|\((?:[^\\()]++|\\.)*+\))*+\)|<[0-9A-Fa-f\s]*+>", re.S)
# Real files nest forms a few levels deep; deeper measures as unbounded.
MAX_FORM_DEPTH = 32
_FONT_STREAMS = ("/FontFile", "/FontFile2", "/FontFile3")


@dataclass(frozen=True)
class PageContent:
    work: int
    shown: int
    rulings: int

    def plus(self, times: int, form: PageContent) -> PageContent:
        """This content drawing `form` `times` times."""
        return PageContent(
            min(self.work + times * form.work, sys.maxsize),
            min(self.shown + times * form.shown, sys.maxsize),
            self.rulings + times * form.rulings,
        )


EMPTY = PageContent(0, 0, 0)
UNBOUNDED = PageContent(sys.maxsize, sys.maxsize, 0)


class ContentMeter:
    """Measures the pages of one file; raises what pypdf raises on a stream
    over its limits (`LimitReachedError`) or a damaged one."""

    def __init__(self) -> None:
        self._forms: dict[int, PageContent] = {}
        self._fonts: set[int] = set()
        self._streams: set[int] = set()

    def page(self, page: PageObject) -> PageContent:
        contents = page.get_contents()  # a /Contents array is held to the limit as a whole
        data = contents.get_data() if contents is not None else b""
        return self._measure(data, _dictionary(page.get("/Resources")), 0)

    def _measure(self, data: bytes, resources: DictionaryObject, depth: int) -> PageContent:
        shown = sum(map(len, _STRING.findall(data)))
        content = PageContent(len(data), shown, len(_RULING.findall(data)))
        content = content.plus(1, self._new_fonts(resources, depth))
        xobjects = _dictionary(resources.get("/XObject"))
        for name, times in Counter(_DRAW.findall(data)).items():
            key = "/" + NameObject.unnumber(name).decode("utf-8", "replace")
            content = content.plus(times, self._xobject(xobjects.get(key), resources, depth))
        return content

    def _xobject(self, ref: Any, resources: DictionaryObject, depth: int) -> PageContent:
        drawn = ref.get_object() if ref is not None else None
        if not isinstance(drawn, StreamObject):
            return UNBOUNDED  # a name not defined here: pypdf, reading the page, decides
        if drawn.get("/Subtype") != "/Form":
            return EMPTY  # an image: not read for text
        key = ref.idnum if isinstance(ref, IndirectObject) else id(drawn)
        if key in self._forms:
            return self._forms[key]
        if depth >= MAX_FORM_DEPTH:
            return UNBOUNDED
        self._forms[key] = UNBOUNDED  # until measured: a form that draws itself never ends
        own = _dictionary(drawn.get("/Resources")) or resources
        self._forms[key] = self._measure(drawn.get_data(), own, depth + 1)
        return self._forms[key]

    def _new_fonts(self, resources: DictionaryObject, depth: int) -> PageContent:
        """Fonts met for the first time: their streams inflated (glyph programs
        and Unicode maps, only to hold them to the stream limit), and the glyph
        procedures of Type 3 fonts, which PDFium interprets once a file, measured."""
        glyphs = EMPTY
        for ref in _dictionary(resources.get("/Font")).values():
            if isinstance(ref, IndirectObject):
                if ref.idnum in self._fonts:
                    continue
                self._fonts.add(ref.idnum)
            font = _dictionary(ref)
            parts = [font, *(_dictionary(d) for d in _array(font.get("/DescendantFonts")))]
            streams = [font.get("/ToUnicode")]
            for part in parts:
                descriptor = _dictionary(part.get("/FontDescriptor"))
                streams += [descriptor.get(name) for name in _FONT_STREAMS]
            for stream in streams:
                self._inflate(stream)
            own = _dictionary(font.get("/Resources")) or resources
            for procedure in _dictionary(font.get("/CharProcs")).values():
                glyphs = glyphs.plus(1, self._glyph(procedure, own, depth))
        return glyphs

    def _glyph(self, ref: Any, resources: DictionaryObject, depth: int) -> PageContent:
        procedure = ref.get_object() if ref is not None else None
        if not isinstance(procedure, StreamObject):
            return EMPTY
        if depth >= MAX_FORM_DEPTH:
            return UNBOUNDED
        drawn = self._measure(procedure.get_data(), resources, depth + 1)
        return PageContent(drawn.work, drawn.shown, 0)  # a glyph's lines rule no table

    def _inflate(self, ref: Any) -> None:
        stream = ref.get_object() if ref is not None else None
        key = ref.idnum if isinstance(ref, IndirectObject) else id(stream)
        if not isinstance(stream, StreamObject) or key in self._streams:
            return
        self._streams.add(key)
        try:
            decode_stream_data(stream)  # not kept: pypdf's text layer never reads most
        except LimitReachedError:
            raise
        except (PyPdfError, NotImplementedError, zlib.error, *BROKEN):
            pass  # PDFium does without a font it cannot read, and so does pypdf


def _dictionary(value: Any) -> DictionaryObject:
    resolved = value.get_object() if value is not None else None
    return resolved if isinstance(resolved, DictionaryObject) else DictionaryObject()


def _array(value: Any) -> ArrayObject:
    resolved = value.get_object() if value is not None else None
    return resolved if isinstance(resolved, ArrayObject) else ArrayObject()
